"""Writing a knowledge article in a real browser against the real appliance: the live
preview (static/kb.js, under the site's CSP) renders Markdown and shows an author's
<script> as text; the saved article shows an uploaded image; an edit shows up in the
version diff and a rollback restores the first text."""
import re
from pathlib import Path

import pytest

from tests.e2e.test_board_live import log_in, site_config, site_db  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


def test_an_agent_writes_previews_illustrates_edits_and_rolls_back_an_article(
        appliance_site, chromium, screenshots, site_db, tmp_path):  # noqa: F811
    base, passwords = appliance_site
    page = chromium.new_context(locale="en-US").new_page()
    errors, dialogs = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, base, "wangfang", passwords["wangfang"])

    page.goto(base + "/agent/kb")
    page.click("#kb-new")
    page.fill("#f-title", "打印机卡纸")
    page.locator("#f-body").press_sequentially(
        "**先关机**\n\n<script>alert('x')</script>\n\n[帮助](javascript:alert(1))", delay=5)
    page.locator("#kb-preview strong").wait_for(timeout=10_000)  # the live preview
    preview = page.locator("#kb-preview").inner_html()
    assert "<script" not in preview and "&lt;script&gt;" in preview and "javascript:" not in \
        re.sub(r"\[帮助\]\(javascript:alert\(1\)\)", "", preview)
    page.screenshot(path=str(screenshots / "kb-pages-01-write-preview.png"), full_page=True)
    page.click("#kb-save")
    page.wait_for_url(re.compile(r"/agent/kb/\d+$"))
    article_url = page.url
    assert page.locator("#kb-body strong").inner_text() == "先关机"

    image = Path(tmp_path) / "screen.png"
    image.write_bytes(PNG)
    page.set_input_files("#kb-upload input[type=file]", str(image))
    page.click("#kb-upload button[type=submit]")
    page.wait_for_load_state()
    snippet = page.locator("#kb-files code.kb-snippet").inner_text()
    page.click("#kb-edit")
    page.fill("#f-body", "**先关机**，再取纸。\n\n" + snippet)
    page.click("#kb-save")
    page.wait_for_url(article_url)
    img = page.locator("#kb-body img")
    assert img.evaluate("i => i.complete && i.naturalWidth") == 1  # the image really loads
    page.screenshot(path=str(screenshots / "kb-pages-02-article.png"), full_page=True)

    page.goto(article_url + "/versions/1")
    assert page.locator("#kb-body-diff .kb-diff-line.ins").count() >= 1
    page.screenshot(path=str(screenshots / "kb-pages-03-diff.png"), full_page=True)
    page.click("#kb-rollback button[type=submit]")
    page.wait_for_url(article_url)
    assert page.locator("#kb-body img").count() == 0 and "再取纸" not in page.locator("#kb-body").inner_text()
    assert dialogs == [] and errors == []
