"""Highlight snippets for hits: plain text with matches wrapped in U+E000 … U+E001.

The UI escapes the snippet and only then turns the two private-use characters
into <mark> tags, so a snippet can never inject markup. Matches are found by
`search.analysis.match_spans` on the stored, PII-masked text; Whoosh's
fragmenter picks the windows and `MarkFormatter` writes them.
"""
from __future__ import annotations

from whoosh.analysis import Token
from whoosh.highlight import BasicFragmentScorer, Formatter, Fragment, PinpointFragmenter, top_fragments

from search.analysis import match_spans

# The text fields of appliance.ports.IndexedTicket, in the order snippets are stored.
TEXT_FIELDS = ("subject", "description", "public_text", "internal_text")
MARK_START, MARK_END = "\ue000", "\ue001"
# Ticket text could contain the marker characters themselves; drop them so that only
# our marks survive.
_STRIP = {ord(MARK_START): None, ord(MARK_END): None}


class MarkFormatter(Formatter):
    between = " … "

    def _text(self, text: str) -> str:
        return text.translate(_STRIP)

    def format_token(self, text, token, replace=False):
        return MARK_START + self._text(text[token.startchar:token.endchar]) + MARK_END


def match_tokens(spans: list[tuple[int, int]]) -> list[Token]:
    """Whoosh tokens for character spans, as the fragmenters expect them."""
    tokens = []
    for start, end in spans:
        t = Token(chars=True)
        t.startchar, t.endchar, t.matched = start, end, True
        tokens.append(t)
    return tokens


def highlights(snippets, terms: frozenset[str], fields) -> dict[str, str]:
    """Snippets per field (among `fields`) where the analysed query `terms` occur."""
    out = {}
    for field, text in zip(TEXT_FIELDS, snippets):
        if field not in fields or not text:
            continue
        spans = match_spans(text, terms)
        if not spans:
            continue
        tokens = match_tokens(spans)
        if field == "subject":
            fragments = [Fragment(text, tokens, 0, len(text))]
        else:
            fragments = PinpointFragmenter(maxchars=160, surround=40).fragment_matches(text, tokens)
            fragments = top_fragments(fragments, 2, BasicFragmentScorer(), lambda f: f.startchar)
        out[field] = MarkFormatter().format(fragments)
    return out
