"""Turns a user's query string into a Whoosh query over the allowed text fields.

Users may type quotes for phrases, AND/OR/NOT, parentheses and ^boosts. Plain
words come back in two forms: AND-ed (documents with every word, ranked first)
and OR-ed (partial matches, which fill the page after them). This is the
"bonus for all words" without Whoosh's Or(scale=…), which scores every match
and stops block skipping; an AND also runs far faster on a large index.

Field syntax (`internal:…`), wildcards and ranges are not offered: field syntax
would let a customer reach internal notes, and wildcards and ranges cost too
much on a large index. Anything that does not parse into a positive query over
the allowed fields falls back to the plain analysed words, so bad syntax never
raises. Also here: the filter query (statuses, departments, dates and the
permission pre-filter) that the index applies before ranking.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

from whoosh import query as wq
from whoosh.query import And, DateRange, NullQuery, Or, Term
from whoosh.qparser import (AndGroup, EveryPlugin, FieldsPlugin, MultifieldPlugin, OrGroup,
                            QueryParser, RangePlugin, SingleQuotePlugin, WildcardPlugin)

from appliance.ports import SearchFilters
from search.analysis import space_words

NONE = "none"  # the indexed value of a null department/assignee/customer/requester
MAX_TERMS = 32  # distinct words per query; a 500-character paste must not fan out to 2,000 matchers


class Parsed(NamedTuple):
    any: wq.Query         # the words OR-ed: partial matches
    all: wq.Query | None  # the words AND-ed (None when the same as `any`): ranked first


class QueryBuilder:
    def __init__(self, schema, fieldboosts: dict[str, float] | None = None):
        self.schema = schema
        self.boosts = fieldboosts or {}
        self._parsers: dict[tuple, QueryParser] = {}
        self._lock = threading.Lock()

    def _parser(self, fields: tuple[str, ...], group) -> QueryParser:
        with self._lock:
            parser = self._parsers.get((fields, group))
            if parser is None:
                # The default group also joins the words jieba splits one typed word into.
                parser = QueryParser(None, self.schema, group=group)
                for cls in (FieldsPlugin, WildcardPlugin, RangePlugin, SingleQuotePlugin, EveryPlugin):
                    parser.remove_plugin_class(cls)
                parser.add_plugin(MultifieldPlugin(fields, fieldboosts=self.boosts))
                self._parsers[(fields, group)] = parser
            return parser

    def build(self, text: str, fields: tuple[str, ...]) -> Parsed | None:
        """The query over `fields` in both forms, or None when the text has no searchable word."""
        spaced = space_words(text)
        any_q, all_q = self._parse(spaced, fields, OrGroup), self._parse(spaced, fields, AndGroup)
        if not (_acceptable(any_q, fields) and _acceptable(all_q, fields)):
            any_q, all_q = self.plain(text, fields, wq.Or), self.plain(text, fields, wq.And)
        if any_q is None:
            return None
        return Parsed(any_q, None if all_q == any_q else all_q)

    def _parse(self, text: str, fields: tuple[str, ...], group):
        try:
            return self._parser(fields, group).parse(text)
        except Exception:  # the parser is lenient, but a user's string must never raise
            return None

    def plain(self, text: str, fields: tuple[str, ...], join=wq.Or):
        """The analysed words, each over every field, joined by `join`."""
        analyzer = self.schema[fields[0]].analyzer
        words = list(dict.fromkeys(t.text for t in analyzer(text, mode="query")))[:MAX_TERMS]
        if not words:
            return None
        per_word = [wq.Term(fields[0], w) if len(fields) == 1 else
                    wq.Or([wq.Term(f, w, boost=self.boosts.get(f, 1.0)) for f in fields])
                    for w in words]
        return per_word[0] if len(per_word) == 1 else join(per_word)


def _acceptable(q, fields) -> bool:
    if q is None or isinstance(q, type(wq.NullQuery)) or getattr(q, "error", None):
        return False
    if any(getattr(sub, "error", None) for sub in q.leaves()):
        return False
    terms = list(q.iter_all_terms())
    if not terms or len(terms) > MAX_TERMS * len(fields):
        return False
    if any(field not in fields for field, _ in terms):
        return False  # defence in depth: only the allowed text fields, whatever was typed
    return _positive(q)


def _positive(q) -> bool:
    """True if the query can match without scanning every document (not just NOTs)."""
    if isinstance(q, wq.Not):
        return False
    if isinstance(q, (wq.Or, wq.DisjunctionMax)):
        return all(_positive(s) for s in q.subqueries)
    if isinstance(q, wq.CompoundQuery):
        return any(_positive(s) for s in q.subqueries)
    if isinstance(q, (wq.AndNot, wq.AndMaybe, wq.Require)):
        return _positive(q.a)
    return True


def filter_query(f: SearchFilters):
    """Status, department and date filters AND the permission pre-filter; None for none."""
    parts = []
    if f.statuses:
        parts.append(Or([Term("status", s) for s in f.statuses]))
    if f.department_ids:
        parts.append(Or([Term("department_id", str(d)) for d in f.department_ids]))
    if f.created_from or f.created_to:
        # created_to is exclusive, as in ticket lists (appliance.services.queues)
        parts.append(DateRange("created_at", f.created_from, f.created_to, endexcl=True))
    permission = permission_query(f)
    if permission is not None:
        parts.append(permission)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def permission_query(f: SearchFilters):
    """What the actor may see, as an OR of grants; None when unrestricted (admins)."""
    if f.visible_department_ids is None and f.customer_id is None and f.requester_id is None:
        return None
    grants = [Term("department_id", str(d)) for d in f.visible_department_ids or ()]
    if f.visible_department_ids is not None and f.include_unassigned_department:
        grants.append(Term("department_id", NONE))
    for field, value in (("assignee_id", f.visible_assignee_id), ("customer_id", f.customer_id),
                         ("requester_id", f.requester_id)):
        if value is not None:
            grants.append(Term(field, str(value)))
    return Or(grants) if grants else NullQuery
