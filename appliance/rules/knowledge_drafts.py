"""Rules for articles the local model drafts from resolved tickets (services/
knowledge_learning.py): which tickets are worth an article, when a draft is discarded,
how it becomes Markdown, and when it updates an existing article instead.

Pure: the service gathers the facts (ticket, conversation, the customer's known names
and contacts, candidate articles) and applies the answers. Every "no" is a stable
reason code, the only thing logged about a discarded draft (with the ticket id): the
model's text may hold personal data, a code cannot.
See docs/decisions/0022-kb-ai-drafts.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from appliance.rules.pii import FULLWIDTH_TO_ASCII, mask_pii

# --- which resolved tickets deserve an article -------------------------------------------------

MIN_CONVERSATION_CHARS = 80   # customer text + public replies; below, there is no "how"
MIN_REPLY_CHARS = 20          # the agents' public replies together: the solution lives there
SPAM_TAGS = frozenset({"spam", "垃圾", "垃圾邮件", "test", "测试"})


@dataclass(frozen=True)
class TicketFacts:
    status: str
    merged: bool
    tags: frozenset[str]
    customer_chars: int        # subject + description + the customer's public messages
    reply_chars: int           # the agents' public replies
    public_replies: int        # number of public agent replies


def skip_reason(f: TicketFacts) -> str | None:
    """Why a resolved ticket gets no article (a reason code), or None when it is worth
    one. A merged ticket lives on in its survivor; spam and tests teach nothing; a
    ticket without a public agent reply has no solution to write down (it was closed,
    a duplicate, or answered off the record); a very short exchange ("thanks, solved")
    has nothing general in it."""
    if f.status not in ("resolved", "closed"):
        return "not_resolved"   # reopened before the job ran
    if f.merged:
        return "merged"
    if {t.strip().lower() for t in f.tags} & SPAM_TAGS:
        return "spam"
    if f.public_replies == 0 or f.reply_chars < MIN_REPLY_CHARS:
        return "no_public_reply"
    if f.customer_chars + f.reply_chars < MIN_CONVERSATION_CHARS:
        return "too_short"
    return None


# --- the draft -------------------------------------------------------------------------------

MIN_TITLE_CHARS = 4
MIN_FIELD_CHARS = 6       # problem and solution each
MIN_BODY_CHARS = 40       # all fields together
ECHO_SHARE = 0.8          # this share of the draft's word pairs copied from the customer → echo
MAX_STEPS = 8
_STEP_NUMBER = re.compile(r"^\s*(?:[-*•]|\(?\d{1,2}[.)、．:：]|第[一二三四五六七八九十\d]+步[:：，,]?"
                          r"|步骤\s*\d+[:：.]?)\s*")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORDS = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]")


@dataclass(frozen=True)
class Draft:
    title: str
    problem: str
    cause: str
    solution: str
    steps: tuple[str, ...]

    def text(self) -> str:
        return "\n".join([self.title, self.problem, self.cause, self.solution, *self.steps])


def _line(value) -> str:
    return _SPACE.sub(" ", str(value or "")).strip()


def parse_draft(raw: dict) -> Draft:
    """The model's JSON as a Draft: whitespace collapsed, step numbering removed (the
    Markdown list numbers them), empty steps dropped."""
    steps = []
    for s in (raw.get("steps") or [])[:MAX_STEPS]:
        s = _STEP_NUMBER.sub("", _line(s)).strip()
        if s:
            steps.append(s)
    return Draft(_line(raw.get("title")).strip("#* "), _line(raw.get("problem")),
                 _line(raw.get("cause")), _line(raw.get("solution")), tuple(steps))


def _tokens(text: str) -> list[str]:
    """Latin words and single CJK characters, lower-cased: enough to compare texts."""
    return _WORDS.findall((text or "").translate(FULLWIDTH_TO_ASCII).lower())


def _pairs(text: str) -> set[tuple[str, str]]:
    t = _tokens(text)
    return set(zip(t, t[1:]))


def copied_share(text: str, source: str) -> float:
    """The share of `text`'s word pairs that also occur in `source`."""
    mine = _pairs(text)
    return len(mine & _pairs(source)) / len(mine) if mine else 1.0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", (text or "").translate(FULLWIDTH_TO_ASCII))


def mentions(text: str, personal: Iterable[str]) -> bool:
    """Whether `text` contains one of the customer's known names, e-mail addresses or
    phone numbers. Numbers compare by their digits (138-1234-5678 is 13812345678)."""
    folded = (text or "").translate(FULLWIDTH_TO_ASCII).lower()
    digits = _digits(text)
    for value in personal:
        v = (value or "").strip().lower()
        if not v:
            continue
        d = _digits(v)
        if len(d) >= 7 and not re.search(r"[a-z@\u3400-\u9fff]", v):  # a phone number
            if d in digits:
                return True
        elif _literal(v, folded):
            return True
    return False


def _literal(value: str, folded: str) -> bool:
    """A name or address as written; a Latin name also by its parts of 4+ letters
    (Miller), as whole words, so short parts (Li) do not match everywhere."""
    if _CJK.search(value):
        return len(value) >= 2 and value in folded
    if value in folded and re.search(rf"(?<![a-z0-9]){re.escape(value)}(?![a-z0-9])", folded):
        return True
    parts = [p for p in re.split(r"[\s.]+", value) if len(p) >= 4 and "@" not in value]
    return any(re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", folded) for p in parts)


def discard_reason(d: Draft, *, customer_text: str, personal: Iterable[str] = ()) -> str | None:
    """Why the model's draft is thrown away (a reason code), or None to keep it.

    empty: no title, no problem or no solution, or too little text to be an article;
    pii: it contains an e-mail, ID, card or phone number (mask_pii finds one), or the
    customer's known name, address or number; echo: it merely repeats what the
    customer wrote (most of its word pairs are the customer's) and adds no answer."""
    if (len(d.title) < MIN_TITLE_CHARS or len(d.problem) < MIN_FIELD_CHARS
            or len(d.solution) < MIN_FIELD_CHARS or len(d.text()) < MIN_BODY_CHARS):
        return "empty"
    text = d.text()
    if mask_pii(text) != text or mentions(text, personal):
        return "pii"
    answer = "\n".join([d.cause, d.solution, *d.steps])
    if copied_share(answer, customer_text) >= ECHO_SHARE:
        return "echo"
    return None


HEADINGS = {"zh": ("问题", "原因", "解决方案", "步骤"),
            "en": ("Problem", "Cause", "Solution", "Steps")}


def to_markdown(d: Draft, language: str) -> str:
    """The article body: one heading per part, the steps as a numbered list. A part
    the model left empty (often the cause) is left out rather than shown empty."""
    h = HEADINGS.get(language, HEADINGS["zh"])
    out = []
    for heading, value in zip(h[:3], (d.problem, d.cause, d.solution)):
        if value:
            out += [f"## {heading}", "", _escape(value), ""]
    if d.steps:
        out += [f"## {h[3]}", ""] + [f"{i}. {_escape(s)}" for i, s in enumerate(d.steps, 1)] + [""]
    return "\n".join(out).strip() + "\n"


def _escape(text: str) -> str:
    """Model text as plain Markdown text: a line cannot start a heading, list or block
    of its own (the renderer sanitises HTML anyway)."""
    return re.sub(r"^([#>\-*+]|\d+[.)])", r"\\\1", text)


# --- a new article, or an update of the closest one ------------------------------------------

# Feature cosine of the draft's title + problem against an article's title + body at or
# above which the article is about the same problem. Tried on 10 zh/en pairs (decision
# 0022): same problems scored 0.22-0.60, different ones 0.00-0.16, except "paper jam"
# against "printer will not print" (0.24, English), which becomes an update proposal a
# reviewer may reject; a duplicate in the queue would cost them as much.
SAME_PROBLEM = 0.2
COVERED = 0.6        # share of a new step's words already in the article: nothing new


_LATIN_STOP = frozenset("the and for are was were not but you your our can with this that from "
                        "have has had how what when will would please thanks thank its".split())


def features(text: str) -> set[str]:
    """Latin words of 3+ letters and pairs of adjacent CJK characters (a cheap stand-in
    for Chinese words that needs no dictionary)."""
    folded = (text or "").translate(FULLWIDTH_TO_ASCII).lower()
    out = {w for w in re.findall(r"[a-z][a-z0-9]{2,}", folded) if w not in _LATIN_STOP}
    for run in re.findall(r"[\u3400-\u9fff]+", folded):
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def similarity(a: str, b: str) -> float:
    """Cosine of the two texts' feature sets: 1 for the same words, 0 for none shared.
    Bounded, unlike a search engine's score, so one threshold serves every query."""
    x, y = features(a), features(b)
    return len(x & y) / ((len(x) * len(y)) ** 0.5) if x and y else 0.0


def covered_share(text: str, by: str) -> float:
    """The share of `text`'s features that `by` has too (1.0 for an empty text)."""
    mine = features(text)
    return len(mine & features(by)) / len(mine) if mine else 1.0


@dataclass(frozen=True)
class Candidate:
    article_id: int
    status: str
    similarity: float
    open_proposal_id: int | None = None  # an open AI proposal that already updates it


@dataclass(frozen=True)
class Placement:
    """Where the draft goes: `new` article, `update` of article_id (a proposal), or
    `join` (add the ticket as a source of article_id, an open draft or proposal on
    the same problem, instead of a second one in the queue)."""
    kind: str
    article_id: int | None = None
    similarity: float = 0.0


def place(candidates: list[Candidate], threshold: float = SAME_PROBLEM) -> Placement:
    """The closest article at or above the threshold decides: a published one gets an
    update proposal (or joins the proposal already open for it); an open draft or
    proposal is joined; archived, rejected and merged ones are ignored."""
    usable = [c for c in candidates if c.status in ("published", "draft", "in_review")
              and c.similarity >= threshold]
    if not usable:
        return Placement("new")
    best = max(usable, key=lambda c: (c.similarity, -c.article_id))
    if best.status == "published":
        if best.open_proposal_id is not None:
            return Placement("join", best.open_proposal_id, best.similarity)
        return Placement("update", best.article_id, best.similarity)
    return Placement("join", best.article_id, best.similarity)


ADDENDUM = {"zh": "补充（来自已解决的工单）", "en": "Addendum (from a resolved ticket)"}


def merge_update(existing_body: str, d: Draft, language: str) -> str | None:
    """The proposed body of an update: the existing article unchanged, then what the
    ticket adds (its cause, solution and the steps the article does not have yet) under
    an addendum heading; None when the article already says all of it. Deterministic
    on purpose: asked to rewrite the article with the ticket's knowledge, the 0.5B model
    dropped what the article said (decision 0022); a reviewer edits the merge."""
    def new(text: str) -> bool:
        return bool(text) and covered_share(text, existing_body) < COVERED
    h = HEADINGS.get(language, HEADINGS["zh"])
    parts = []
    if new(d.cause):
        parts += [f"**{h[1]}**: {_escape(d.cause)}", ""]
    if new(d.solution):
        parts += [f"**{h[2]}**: {_escape(d.solution)}", ""]
    steps = [s for s in d.steps if new(s)]
    if steps:
        parts += [f"**{h[3]}**:", ""] + [f"{i}. {_escape(s)}" for i, s in enumerate(steps, 1)]
        parts.append("")
    if not parts:
        return None
    addendum = ADDENDUM.get(language, ADDENDUM["zh"])
    added = "\n".join(parts).strip()
    return f"{(existing_body or '').rstrip()}\n\n## {addendum}\n\n{added}\n"
