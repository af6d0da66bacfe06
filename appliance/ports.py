"""Interfaces the domain needs from the outside world; back-ends implement them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class IndexedTicket:
    """What the search index receives for one ticket: text and filter fields, no PII."""
    id: int
    number: str
    subject: str
    description: str
    public_text: str
    internal_text: str
    status: str
    department_id: int | None
    assignee_id: int | None
    customer_id: int | None
    requester_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class SearchHit:
    id: int
    score: float
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchFilters:
    statuses: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    # Permission pre-filter, applied in the index so ranking and paging stay right;
    # the domain re-checks every returned row.
    visible_department_ids: tuple[int, ...] | None = None
    include_unassigned_department: bool = True
    visible_assignee_id: int | None = None
    customer_id: int | None = None
    requester_id: int | None = None
    include_internal: bool = False


class SearchIndex(Protocol):
    def upsert(self, doc: IndexedTicket) -> None: ...
    def apply(self, upserts: list[IndexedTicket], deletes: list[int]) -> None: ...
    def delete(self, ticket_id: int) -> None: ...
    def search(self, query: str, filters: SearchFilters, limit: int = 20, offset: int = 0, *,
               budget_s: float | None = None) -> tuple[list[SearchHit], int]: ...
    def rebuild(self, docs) -> int: ...
    def health(self) -> bool: ...


# --- AI: the local language model and the triage classifiers (local_llm/ implements) ---

class ModelUnavailable(Exception):
    """The language model cannot be used (file missing, wrong hash, failed to load)."""


class ModelBusy(Exception):
    """Every slot of the bounded model pool is taken; queue the work and try later."""


class ModelTimeout(Exception):
    """Generation ran past its deadline; whatever was produced is discarded."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    sha256: str
    path: str
    available: bool
    reason: str = ""  # why it is unavailable, for /healthz, the UI and the log


class TextModel(Protocol):
    """The local GGUF model, in-process. Calls are bounded by a small pool and a deadline.

    `interactive=True` is for an agent waiting on screen (drafts): it goes ahead of
    background work, which is pre-empted and raises ModelBusy to be retried later."""
    def info(self) -> ModelInfo: ...
    def complete_json(self, system: str, user: str, schema: dict, *, max_tokens: int = 256,
                      timeout_s: float = 30.0, interactive: bool = False) -> dict: ...
    def stream(self, system: str, user: str, *, max_tokens: int = 512,
               timeout_s: float = 60.0, interactive: bool = True): ...  # Iterator[str]


class TextEmbedder(Protocol):
    """Sentence vectors from the local model, as opaque bytes (decision 0053). Vectors
    are only comparable within one `space()` (model file, pooling, token cap)."""
    def space(self) -> str: ...  # raises ModelUnavailable when no model is registered
    def embed(self, texts: list[str], *, wait_s: float = 30.0) -> list[bytes]: ...


@dataclass(frozen=True)
class LabelScore:
    label: str
    confidence: float  # calibrated probability in [0, 1]


@dataclass(frozen=True)
class LabelProfileSpec:
    """Cold start for one label: what the admin wrote about it and a few examples."""
    label: str
    name: str
    description: str
    examples: tuple[str, ...] = ()


class TextClassifier(Protocol):
    """One field's classifier (learned from history, or cold start from profiles)."""
    kind: str  # "learned" | "cold"
    labels: tuple[str, ...]
    # The TextEmbedder space whose vectors this classifier also reads, or None. Given a
    # text's vector from that space it uses it; without one (model busy or missing) it
    # falls back to its text-only model, so a vector is never required.
    vector_space: str | None
    def predict(self, text: str, vector: bytes | None = None) -> list[LabelScore]: ...
    def predict_many(self, texts: list[str],
                     vectors: list[bytes | None] | None = None) -> list[list[LabelScore]]: ...
    def to_bytes(self) -> bytes: ...


class ClassifierBackend(Protocol):
    """Builds and restores classifiers; the serialised form is never a pickle."""
    def train(self, texts: list[str], labels: list[str], *,
              weights: list[float] | None = None, vectors: list[bytes | None] | None = None,
              vector_space: str | None = None) -> TextClassifier: ...
    def cold_start(self, profiles: list[LabelProfileSpec]) -> TextClassifier: ...
    def load(self, blob: bytes) -> TextClassifier: ...


# --- e-mail: the outgoing relay (appliance/mail/smtp.py implements) ---------------------

class MailSendError(Exception):
    """Sending failed; `transient` (4xx, connection trouble) means try again later."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class Mailer(Protocol):
    def send(self, message) -> None:
        """Hand one email.message.EmailMessage to the relay, or raise MailSendError."""
        ...


# --- knowledge base: the article index (search/knowledge_index.py implements) -----------

@dataclass(frozen=True)
class IndexedArticle:
    """What the article index receives for one article (every status: staff search drafts).

    `category_id` is the article's own category only: a filter on a parent category is
    expanded to its sub-categories when searching (services/knowledge_search.py), so
    moving a category in the tree needs no re-indexing."""
    id: int
    title: str
    body: str
    tags: tuple[str, ...]
    language: str
    visibility: str
    status: str
    category_id: int | None
    updated_at: dt.datetime
    ai_generated: bool = False
    department_id: int | None = None  # the department scope while unpublished (None: none)


@dataclass(frozen=True)
class ArticleFilters:
    """Applied inside the index before ranking, so totals, facets and paging are right.
    Empty tuples mean "any"; the domain puts the permission limits here too."""
    statuses: tuple[str, ...] = ()
    visibilities: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    category_ids: tuple[int, ...] = ()  # the article's own category is one of these
    ai_generated: bool | None = None     # None: either
    # Department scope (rules.knowledge.in_department_scope): None, no limit; else an
    # article that is not published passes only when its department is one of these
    # (None in it: organisation-wide articles) or its own category one of
    # `review_categories`.
    departments: tuple[int | None, ...] | None = None
    review_categories: tuple[int, ...] = ()


@dataclass(frozen=True)
class ArticleSearchHit:
    id: int
    score: float
    highlights: dict[str, str] = field(default_factory=dict)  # safe HTML, <mark> around matches
    terms: tuple[str, ...] = ()  # the query words (or their synonyms) the article matched
    coverage: float = 0.0  # share of the query's word weight found in the article, 0..1


class KnowledgeIndex(Protocol):
    def apply(self, upserts: list[IndexedArticle], deletes: list[int]) -> None: ...
    def rebuild(self, docs) -> int: ...
    def search(self, query: str, filters: ArticleFilters, limit: int = 20, offset: int = 0,
               facets: bool = False, synonyms: tuple[tuple[str, ...], ...] = ()
               ) -> tuple[list[ArticleSearchHit], int, dict]: ...
    def health(self) -> bool: ...
    # Text helpers with the index's own analysis (the domain has no tokenizer of its own):
    def key_words(self, text: str, n: int) -> list[str]: ...  # a long text's most distinctive words
    def analysed(self, text: str) -> tuple[str, ...]: ...     # the index terms of a text
    def word_key(self, word: str) -> str: ...                 # folded form: 帳號 and 帐号 are one word
