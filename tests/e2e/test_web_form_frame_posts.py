"""Posts from the embedded web form, in a real browser against gunicorn. A visitor inside
another site's iframe chooses files over the request limit (Flask refuses the body before
the view reads it) or one file over the attachment limit, and sees the form again inside
the frame with the message beside the attachments field — not a frame the browser blocks
— and nothing is stored. A double click on Send opens one ticket."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, INIT_SITE, _free_port, _wait_healthy
from tests.e2e.test_web_form import host_site

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


def _setup(env: dict, origin: str) -> None:
    script = (INIT_SITE + "from appliance.rules.access import SYSTEM\n"
              "from appliance.services import webforms\n"
              "webforms.save_form(SYSTEM, webforms.WebFormInput(slug='shop', title='商城售后',"
              f" embed_origins={json.dumps(origin)}))\n")
    subprocess.run([sys.executable, "-c", script], env={**env, "PYTHONPATH": str(ROOT)},
                   capture_output=True, text=True, timeout=120, cwd=ROOT, check=True)


@pytest.fixture(scope="module")
def framed_form(tmp_path_factory):
    """gunicorn with a 1 MiB request limit and a 256 KiB attachment limit, and a site whose
    page frames its form; yields (site URL, database file)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    root, port = tmp_path_factory.mktemp("site"), _free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = root / "gongdan.toml"
    cfg.write_text(f'database_url = "sqlite:///{root}/g.db"\nqueue_url = "sqlite:///{root}/q.db"\n'
                   f'index_dir = "{root}/index"\nattachment_dir = "{root}/att"\n'
                   f'secret_key = "e2e-secret"\nbind = "127.0.0.1:{port}"\nweb_workers = 1\n'
                   f'max_request_bytes = 1048576\nmax_attachment_bytes = 262144\n'
                   f'keys_dir = "{root}/keys"\n',
                   encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(cfg)
    with host_site(base + "/forms/shop?lang=en") as site:
        _setup(env, site)
        with open(root / "web.log", "w") as log:
            web = subprocess.Popen([sys.executable, "-m", "appliance.cli", "serve"], env=env,
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_healthy(base, web)
                yield site, root / "g.db", root
            finally:
                web.terminate()
                web.wait(timeout=15)


def stored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("ticket", "form_submission"))


def fill_and_send(frame, files: list[Path], twice: bool = False) -> None:
    frame.locator("#f-name").fill("赵六")
    frame.locator("#f-email").fill("zhao@example.com")
    frame.locator("#f-subject").fill("耳机没有声音")
    frame.locator("#f-description").fill("收到的耳机左边没有声音。")
    frame.locator("#f-attachments").set_input_files([str(f) for f in files])
    time.sleep(2.2)  # the form's minimum fill time
    if twice:  # an impatient second click 30 ms later, while the first post is on its way
        frame.locator("#f-send").evaluate("b => { b.click(); setTimeout(() => b.click(), 30); }")
    else:
        frame.locator("#f-send").click()


@pytest.mark.parametrize("case", ["request", "file"])
def test_too_much_to_send_shows_the_form_again_inside_the_frame(
        framed_form, chromium, screenshots, tmp_path, case):
    site, db, root = framed_form
    if case == "request":  # four photos of 2 MiB: over the 1 MiB request limit
        files = [tmp_path / f"photo{i}.png" for i in range(4)]
        size, message = 2 * 1024 * 1024, "Too much to send at once"
    else:  # one file of 300 KiB: within the request limit, over the attachment limit
        files, size, message = [tmp_path / "photo.png"], 300 * 1024, "larger than"
    for f in files:
        f.write_bytes(PNG + b"\x00" * size)
    page = chromium.new_context(locale="en-US").new_page()
    page.goto(site + "/")
    frame = page.frame_locator("#gd")
    fill_and_send(frame, files)
    error = frame.locator("#err-attachments")
    error.wait_for(timeout=20_000)
    assert message in error.inner_text()
    assert frame.locator("#f-send").is_visible()  # the form, usable, not a blocked frame
    inner = [f for f in page.frames if f != page.main_frame]
    assert inner and all(not f.url.startswith("chrome-error://") for f in inner)
    page.screenshot(path=str(screenshots / f"webform-too-large-{case}.png"), full_page=True)
    assert stored(db)[0] == 0 and not files_in(root / "att")


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_a_double_click_on_send_opens_one_ticket_and_shows_its_number(
        framed_form, chromium, screenshots, tmp_path):
    site, db, root = framed_form
    before = stored(db)
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    page = chromium.new_context(locale="en-US").new_page()
    page.goto(site + "/")
    frame = page.frame_locator("#gd")
    fill_and_send(frame, [photo], twice=True)
    frame.locator("#form-thanks").wait_for(timeout=20_000)
    number = frame.locator("#ticket-number").inner_text()
    page.wait_for_timeout(1000)  # a second post still on its way would land by now
    page.screenshot(path=str(screenshots / "webform-double-click.png"), full_page=True)
    posts = (root / "web.log").read_text().count('"POST /forms/shop?lang=en HTTP/1.1" 303')
    assert posts == 2, "the browser did not post twice"
    tickets, log_rows = stored(db)
    assert tickets == before[0] + 1 and log_rows == before[1] + 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT number FROM ticket").fetchall() == [(number,)]
    assert len(files_in(root / "att")) == 1
