"""Article Markdown rendering: CommonMark out, nothing executable through (either layer)."""
from __future__ import annotations

import re

import pytest

from appliance.rules.markdown import file_id, plain_text, render_markdown, safe_highlight, sanitize


def _tags(html: str) -> list[str]:
    return re.findall(r"<([a-z0-9]+)", html)


def test_common_markdown_renders_to_the_expected_elements():
    html = render_markdown("# 标题\n\n**粗体** *斜体* `code`\n\n- 一\n- 二\n\n1. a\n2. b\n\n"
                           "> 引用\n\n```python\nprint(1)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                           "~~旧~~")
    for tag in ("h1", "strong", "em", "code", "ul", "ol", "li", "blockquote", "pre", "table",
                "th", "td", "s"):
        assert tag in _tags(html), tag
    assert '<code class="language-python">' in html


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src='https://evil.example'></iframe>",
    "<style>body{display:none}</style>",
    "<svg onload=alert(1)>",
    "<a href='javascript:alert(1)'>x</a>",
])
def test_raw_html_in_markdown_is_shown_as_text(source):
    html = render_markdown(source)
    assert _tags(html) == ["p"] or _tags(html) == []
    assert "&lt;" in html


@pytest.mark.parametrize("link", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:x",
                                  "data:text/html;base64,PHNjcmlwdD4=", "  javascript:alert(1)",
                                  "java\tscript:alert(1)", "file:///etc/passwd"])
def test_dangerous_link_schemes_never_become_links(link):
    html = render_markdown(f"[click]({link}) and <{link}>")
    assert not re.search(r'href="(?!https?:|mailto:|/)', html)
    assert "<a" not in html


def test_safe_links_keep_their_target_and_get_noopener():
    html = render_markdown("[a](https://example.com/x?y=1) [b](mailto:help@example.com) "
                           "[c](/agent/kb/3) [d](http://example.com)")
    assert html.count('rel="noopener noreferrer"') == 4
    assert 'href="https://example.com/x?y=1"' in html and 'href="/agent/kb/3"' in html


def test_bare_urls_are_not_linkified():
    assert "<a" not in render_markdown("see https://example.com")


def test_images_show_only_article_files_and_only_the_allowed_ones():
    html = render_markdown("![a](/agent/kb/files/3) ![b](/portal/kb/files/4) "
                           "![c](https://evil.example/t.png) ![d](data:image/png;base64,AAAA) "
                           "![e](/agent/kb/files/3/../../x) ![f](//evil.example/t.png)")
    assert re.findall(r'src="([^"]*)"', html) == ["/agent/kb/files/3", "/portal/kb/files/4"]
    own = render_markdown("![a](/agent/kb/files/3) ![b](/agent/kb/files/9)", file_ids={3})
    assert re.findall(r'src="([^"]*)"', own) == ["/agent/kb/files/3"]
    portal = render_markdown("![a](/agent/kb/files/3)", files_base="/portal/kb/files")
    assert 'src="/portal/kb/files/3"' in portal


def test_the_sanitiser_alone_removes_what_the_renderer_might_let_through():
    html = sanitize('<script>x()</script><iframe src="y"></iframe><p style="color:red" '
                    'onclick="z()">p</p><a href="javascript:x">j</a><a href="data:text/html,x">d</a>'
                    '<img src="https://evil.example/a.png" onerror="x()"><object data="x"></object>'
                    '<form action="/x"><input name="y"></form><a href="https://ok.example">ok</a>')
    assert "x()" not in html and "<iframe" not in html and "style=" not in html
    assert "onclick" not in html and "javascript" not in html and "data:" not in html
    assert "evil.example" not in html and "<object" not in html and "<form" not in html
    assert '<a href="https://ok.example" rel="noopener noreferrer">ok</a>' in html


def test_code_classes_other_than_a_language_are_dropped():
    assert 'class="' not in sanitize('<code class="x onload">a</code>')
    assert 'class="language-js"' in sanitize('<code class="language-js">a</code>')


def test_plain_text_strips_markup_and_cuts_with_an_ellipsis():
    assert plain_text("# 标题\n\n**粗体** 与 [链接](https://e.x) <b>x</b>") == "标题 粗体 与 链接 <b>x</b>"
    assert plain_text("一二三四五六七八九十", limit=5) == "一二三四…"
    assert plain_text("") == ""


def test_a_highlight_keeps_only_mark():
    assert safe_highlight('a <mark>退款</mark> <script>x</script><b onclick="y">b</b>') == \
        "a <mark>退款</mark> b"


def test_file_ids_are_read_only_from_exact_file_urls():
    assert file_id("/agent/kb/files/12") == 12 and file_id("/portal/kb/files/7") == 7
    assert file_id("/agent/kb/files/12?x") is None and file_id("https://x/agent/kb/files/1") is None
