"""What a page must not contain under a CSP without 'unsafe-inline': inline scripts
(a <script> without src) and inline event handlers (on*= attributes), found with the
standard library's HTML parser rather than a regular expression."""
from __future__ import annotations

from html.parser import HTMLParser


DATA_TYPES = frozenset({"application/json", "application/ld+json"})


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower() for name, _ in attrs}
        kind = dict((n.lower(), (v or "").lower()) for n, v in attrs).get("type", "")
        # <script type="application/json"> is a data block: never run, so not a script.
        if tag == "script" and "src" not in names and kind not in DATA_TYPES:
            self.found.append(f"inline <script> ({self.getpos()})")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}> ({self.getpos()})")
            if name.lower() in ("href", "src", "action", "formaction") and (value or "") \
                    .strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}> ({self.getpos()})")

    handle_startendtag = handle_starttag


def active_markup(html: str) -> list[str]:
    """Inline scripts, event-handler attributes and javascript: URLs in `html`."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.found
