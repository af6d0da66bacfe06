"""HTML in inbound mail: plain-text rendering and the sanitising allow-list.

Owns how an HTML body becomes readable text (for the ticket, search and the model) and
which HTML may be shown back to agents. Pure functions over strings.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_BLOCK = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
    "tbody", "thead", "tfoot", "tr", "ul", "title",
}
_SKIP = {"script", "style", "head", "template", "noscript", "object", "iframe", "svg"}
_CELL = {"td", "th"}


class _TextBuilder(HTMLParser):
    """Collects text lines; blockquote depth becomes "> " so quoted history stays foldable."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.quote_depth = 0

    def flush(self) -> None:
        line = "".join(self.current)
        if self.pre_depth == 0:
            line = re.sub(r"[ \t\r\n\f\u00a0]+", " ", line).strip()
        self.lines.append("> " * self.quote_depth + line if line else "")
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "br":
            self.flush()
        elif tag in _BLOCK:
            self.flush()
            self.pre_depth += tag == "pre"
            self.quote_depth += tag == "blockquote"
        elif tag in _CELL:
            self.current.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt") or ""
            self.current.append(f"[{alt}]" if alt.strip() else "")

    def handle_startendtag(self, tag, attrs):
        if tag not in _SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self.flush()
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data):
        if self.skip_depth == 0:
            self.current.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text: blocks become lines, entities decoded, scripts and styles dropped."""
    builder = _TextBuilder()
    try:
        builder.feed(html or "")
        builder.close()
    except Exception:  # html.parser is lenient; this guards the "never raise" promise  # nosec B110
        pass
    builder.flush()
    text = "\n".join(line.rstrip() for line in builder.lines)
    text = text.replace("\u00a0", " ")
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup",
    "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt",
    "u", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "p": {"align"},
    "div": {"align"},
    "ol": {"start"},
}


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    # Only cid: images survive: a remote image is a tracking beacon and leaks that an
    # agent opened the ticket; data: URIs can smuggle SVG script.
    if tag == "img" and attr == "src":
        return value if value.strip().lower().startswith("cid:") else None
    return value


def sanitise_html(html: str) -> str:
    """HTML safe to show agents: conservative tags, no scripts, styles or remote images."""
    return nh3.clean(
        html or "",
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head", "template", "iframe", "object"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
