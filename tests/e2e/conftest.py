"""A real appliance for browser tests: gunicorn + Huey worker on loopback, driven by
Playwright with Debian's Chromium. Screenshots go to test-output/screenshots/."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-gpu"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not become healthy")


# What `gongdan init` does to a new site's keys and schema, as a script prefix for the
# subprocesses that set sites up (the site's config names keys_dir).
INIT_SITE = ("from appliance import keystore; from appliance.settings import load_settings\n"
             "keystore.create_master(load_settings())\n"
             "from appliance.bootstrap import boot; boot(queue=False)\n"
             "from appliance import audit_keys, runtime; audit_keys.create(runtime.settings())\n"
             "from appliance import migrate; migrate.upgrade()\n"
             "from appliance.services import keys; keys.activate(runtime.settings())\n")


@pytest.fixture(scope="module")
def appliance_site(tmp_path_factory):
    """Initialised site with demo org users; yields (base_url, passwords)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    root = tmp_path_factory.mktemp("site")
    port = _free_port()
    cfg = root / "gongdan.toml"
    cfg.write_text(f'database_url = "sqlite:///{root}/g.db"\nqueue_url = "sqlite:///{root}/q.db"\n'
                   f'index_dir = "{root}/index"\nattachment_dir = "{root}/att"\n'
                   f'secret_key = "e2e-secret"\nbind = "127.0.0.1:{port}"\nweb_workers = 2\n'
                   f'sweeper_seconds = 5\ntimezone = "Asia/Shanghai"\n'
                   f'keys_dir = "{root}/keys"\n'
                   # One-step logins here; test_auth_e2e.py starts its own site with TOTP.
                   'mfa_required_roles = []\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(cfg)
    setup = (INIT_SITE + "from tests.factories import make_org; import json\n"
             "print(json.dumps(make_org().passwords))\n")
    root_dir = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", setup], env={**env, "PYTHONPATH": str(root_dir)},
                         capture_output=True, text=True, timeout=120, cwd=root_dir, check=True)
    import json
    passwords = json.loads(out.stdout.strip().splitlines()[-1])
    logs = root / "logs"
    logs.mkdir()
    web = subprocess.Popen([sys.executable, "-m", "appliance.cli", "serve"], env=env, cwd=root_dir,
                           stdout=open(logs / "web.log", "w"), stderr=subprocess.STDOUT)
    worker = subprocess.Popen([sys.executable, "-m", "appliance.cli", "worker"], env=env,
                              cwd=root_dir, stdout=open(logs / "worker.log", "w"),
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, web)
        yield base, passwords
    finally:
        for p in (web, worker):
            p.terminate()
        for p in (web, worker):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots(output_dir):
    path = output_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
