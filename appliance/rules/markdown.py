"""Article Markdown → safe HTML, and → plain text for snippets.

Two layers, because either alone has failed somewhere before: markdown-it-py renders
CommonMark with raw HTML *off* (an author's `<script>` comes out as text), then nh3
keeps only an explicit allow-list of tags, attributes and URL schemes — so a bug or
a plugin in the renderer still cannot put script, frames, styles, event handlers or
`javascript:`/`data:` URLs on the page. Images may only show the article's own files
(/agent/kb/files/<id> or /portal/kb/files/<id>): anything else would let an article
make every reader's browser fetch a third-party address.
"""
from __future__ import annotations

import html
import re
from collections.abc import Collection

import nh3
from markdown_it import MarkdownIt

TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code",
    "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th",
    "td", "sup", "sub",
})
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"},
              "th": {"align"}, "td": {"align"}, "code": {"class"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Tags whose content is dropped too (not just the tag), should one ever get through.
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template",
                               "noscript", "textarea", "select", "svg", "math"})
_FILE_URL = re.compile(r"^/(?:agent|portal)/kb/files/(?P<id>\d+)$")
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+-]{1,32}$")
_SPACE = re.compile(r"\s+")

# CommonMark, raw HTML escaped, no autolinking of bare text, plus GFM tables and
# strikethrough (support articles are full of both).
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["table", "strikethrough"])


def file_id(url: str) -> int | None:
    """The article-file id an image URL points to, or None if it is not one."""
    m = _FILE_URL.match((url or "").strip())
    return int(m.group("id")) if m else None


def _attribute_filter(file_ids: Collection[int] | None, files_base: str | None):
    def keep(tag: str, attr: str, value: str) -> str | None:
        if tag == "img" and attr == "src":
            fid = file_id(value)
            if fid is None or (file_ids is not None and fid not in file_ids):
                return None
            return f"{files_base.rstrip('/')}/{fid}" if files_base else value
        if tag == "code" and attr == "class":
            return value if _LANGUAGE_CLASS.match(value) else None
        if attr in ("align",):
            return value if value in ("left", "right", "center") else None
        return value
    return keep


def render_markdown(text: str, *, file_ids: Collection[int] | None = None,
                    files_base: str | None = None) -> str:
    """Safe HTML for an article body.

    `file_ids`: the article's own files; an image pointing at any other file is
    dropped (None allows any article-file URL). `files_base` rewrites image URLs to
    where the reader can fetch them (the portal serves /portal/kb/files/<id>)."""
    return sanitize(_md.render(text or ""), file_ids=file_ids, files_base=files_base)


def sanitize(fragment: str, *, file_ids: Collection[int] | None = None,
             files_base: str | None = None) -> str:
    """The allow-list pass on its own (the second layer: it must hold even if the
    renderer lets raw HTML through)."""
    return nh3.clean(fragment or "", tags=set(TAGS), clean_content_tags=set(DROP_WITH_CONTENT),
                     attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     attribute_filter=_attribute_filter(file_ids, files_base),
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer",
                     strip_comments=True)


def plain_text(text: str, limit: int | None = None) -> str:
    """The body's words without Markdown or HTML (for snippets and previews), whitespace
    collapsed, cut at `limit` characters with an ellipsis."""
    stripped = nh3.clean(_md.render(text or ""), tags=set(), clean_content_tags={"script", "style"})
    out = _SPACE.sub(" ", html.unescape(stripped)).strip()
    if limit is not None and len(out) > limit:
        out = out[:max(0, limit - 1)].rstrip() + "…"
    return out


def safe_highlight(fragment: str) -> str:
    """A search snippet with only its <mark> tags kept (the index escapes the text; this
    makes sure of it whatever back-end produced the snippet)."""
    return nh3.clean(fragment or "", tags={"mark"}, attributes={}, link_rel=None)
