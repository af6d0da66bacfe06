"""Labelled retrieval sets for the knowledge base: articles, the queries that should find
them, and the synonym sets an administrator would configure.

- "bitext-en": built at run time from ../shared/data/bitext/customer_support_sample.csv
  (never copied into the repository). One article per intent: the title is the intent
  humanised ("cancel_order" -> "Cancel order"), the tag is the row's category, the body
  is a few distinct responses of that intent, chosen with a fixed seed. The queries are
  customer instructions of the intent. Responses never contain the instructions, so no
  query text is part of any article.
- "kb-zh": our own Chinese helpdesk set in tests/data/kb_zh/ (articles.json,
  queries.json, synonyms.json), written as customers write: colloquial, synonyms,
  typos, some traditional characters and mixed Chinese/English.

Used by bench/knowledge_retrieval.py and tests/domain/test_knowledge_relevance.py.
"""
from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BITEXT = ROOT.parent / "shared" / "data" / "bitext" / "customer_support_sample.csv"
ZH_DIR = ROOT / "tests" / "data" / "kb_zh"
SEED = 20261127
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


@dataclass(frozen=True)
class KbArticle:
    key: str          # stable name the queries point at (intent, or the zh set's key)
    title: str
    body: str         # Markdown
    tags: list[str]
    language: str


@dataclass(frozen=True)
class KbQuery:
    text: str
    expected: str     # KbArticle.key
    kind: str = ""    # zh set: what makes it hard (synonym, typo, traditional, mixed, ...)


@dataclass(frozen=True)
class KbSet:
    name: str
    language: str
    articles: list[KbArticle]
    queries: list[KbQuery]
    synonyms: list[list[str]] = field(default_factory=list)

    def only(self, keys) -> "KbSet":
        """The same set restricted to some articles and the queries that expect them."""
        keys = set(keys)
        return replace(self, articles=[a for a in self.articles if a.key in keys],
                       queries=[q for q in self.queries if q.expected in keys])


def humanise(intent: str) -> str:
    """'change_shipping_address' -> 'Change shipping address'."""
    words = intent.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _unplaceholder(text: str) -> str:
    # Bitext anonymised values as {{Order Number}}; a real article would hold the words.
    return _PLACEHOLDER.sub(r"\1", text).strip()


def bitext_set(path: Path = BITEXT, *, responses: int = 3, queries_per_intent: int = 30,
               seed: int = SEED) -> KbSet:
    """English set from the Bitext sample; `queries_per_intent=0` takes every instruction."""
    if not path.exists():
        raise FileNotFoundError(f"Bitext sample not found: {path}")
    by_intent: dict[str, list[dict]] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_intent[row["intent"]].append(row)
    articles, queries = [], []
    for intent in sorted(by_intent):
        # One generator per intent and purpose: an article's body does not depend on how
        # many queries are drawn, nor on the other intents.
        rng = random.Random(f"{seed}:{intent}:responses")
        rows = by_intent[intent]
        texts = list(dict.fromkeys(_unplaceholder(r["response"]) for r in rows))
        chosen = rng.sample(texts, min(responses, len(texts)))
        body = "\n\n---\n\n".join(chosen)
        category = rows[0]["category"].lower()
        articles.append(KbArticle(intent, humanise(intent), body, [category], "en"))
        asked = [q for q in dict.fromkeys(r["instruction"].strip() for r in rows) if q]
        if queries_per_intent and len(asked) > queries_per_intent:
            asked = random.Random(f"{seed}:{intent}:queries").sample(asked, queries_per_intent)
        queries.extend(KbQuery(q, intent) for q in asked)
    return KbSet("bitext-en", "en", articles, queries)


def zh_set(folder: Path = ZH_DIR) -> KbSet:
    """The Chinese set; checks that every query points at an existing article."""
    articles = [KbArticle(a["key"], a["title"], a["body"], list(a.get("tags", [])), "zh")
                for a in json.loads((folder / "articles.json").read_text(encoding="utf-8"))]
    keys = {a.key for a in articles}
    if len(keys) != len(articles):
        raise ValueError("duplicate article keys in articles.json")
    queries = []
    for entry in json.loads((folder / "queries.json").read_text(encoding="utf-8")):
        if entry["article"] not in keys:
            raise ValueError(f"query for unknown article {entry['article']!r}")
        queries.extend(KbQuery(q["text"], entry["article"], q.get("kind", ""))
                       for q in entry["queries"])
    synonyms = json.loads((folder / "synonyms.json").read_text(encoding="utf-8"))
    return KbSet("kb-zh", "zh", articles, queries, [list(s) for s in synonyms])
