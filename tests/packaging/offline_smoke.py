"""Install a verified, extracted bundle the way an air-gapped site does, and smoke-test it.

    unshare --net python3.11 offline_smoke.py BUNDLE_DIR WORK_DIR REPORT.json

Run inside a network namespace with only loopback (the caller brings `lo` up): a fresh
virtualenv, `pip install --no-index --find-links wheels gongdan` with every compiler
replaced by one that records its call and fails, a SQLite site with the bundle's model
registered by its SHA-256 pin, `gongdan init`, `gongdan serve` and `gongdan worker`, then
/healthz, a ticket through the REST API, AI triage with the bundled model, and search.
Standard library only (it runs before anything is installed). Writes a JSON report with
timings and idle memory; exits non-zero with the reason when a step fails.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PORT = 18080
BASE = f"http://127.0.0.1:{PORT}"


class Failed(Exception):
    pass


def run(cmd, env, cwd, timeout=600, what=""):
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise Failed(f"{what or cmd[0]} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def fake_compilers(work: Path) -> tuple[Path, Path]:
    """cc, gcc, g++, c++, clang, ld, cmake, make that record any call and fail."""
    folder, marker = work / "no-compilers", work / "compiler-called"
    folder.mkdir()
    for name in ("cc", "gcc", "g++", "c++", "clang", "ld", "cmake", "make", "x86_64-linux-gnu-gcc"):
        script = folder / name
        script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\nexit 1\n")
        script.chmod(0o755)
    return folder, marker


def http(method, path, token=None, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 (loopback)
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = exc
        time.sleep(0.5)
    raise Failed(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        todo += children.get(pid, [])
    return total


def install(bundle: Path, work: Path, python: str, report: dict) -> tuple[Path, dict]:
    folder, marker = fake_compilers(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GONGDAN_", "VIRTUAL_ENV"))}
    env.update({"PATH": f"{folder}:/usr/bin:/bin", "CC": "/bin/false", "CXX": "/bin/false",
                "PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "HOME": str(work)})
    venv = work / "venv"
    start = time.monotonic()
    run([python, "-m", "venv", str(venv)], env, work, what="python -m venv")
    r = run([str(venv / "bin/pip"), "install", "--no-index", "--find-links", str(bundle / "wheels"),
             "--no-cache-dir", "gongdan"], env, work, what="pip install --no-index gongdan")
    report["install_seconds"] = round(time.monotonic() - start, 1)
    report["pip_built_something"] = "Building wheel" in r.stdout or "setup.py" in r.stdout
    report["compiler_called"] = marker.read_text() if marker.exists() else ""
    report["installed"] = [line for line in r.stdout.splitlines() if line.startswith("Successfully installed")]
    return venv, env


def configure(bundle: Path, work: Path, venv: Path, env: dict) -> dict:
    site = work / "site"
    (site / "models").mkdir(parents=True)
    cfg = site / "gongdan.toml"
    cfg.write_text("\n".join([
        f'database_url = "sqlite:///{site}/gongdan.db"', f'queue_url = "sqlite:///{site}/queue.db"',
        f'index_dir = "{site}/index"', f'attachment_dir = "{site}/attachments"',
        f'keys_dir = "{site}/keys"', f'model_dir = "{site}/models"', f'bind = "127.0.0.1:{PORT}"',
        "web_workers = 1", "llm_threads = 2", 'secret_key = "offline-smoke-test-secret-0123456789"',
        ""]), encoding="utf-8")
    os.chmod(cfg, 0o600)
    env = {**env, "GONGDAN_CONFIG": str(cfg)}
    gongdan = str(venv / "bin/gongdan")
    run([gongdan, "init"], env, site, what="gongdan init")
    model = json.loads((bundle / "bundle.json").read_text())["model"]
    target = site / "models" / model["file"]
    try:
        os.link(bundle / "model" / model["file"], target)
    except OSError:
        shutil.copyfile(bundle / "model" / model["file"], target)
    run([gongdan, "model", "add", str(target), "--name", model["name"], "--sha256", model["sha256"],
         "--use"], env, site, what="gongdan model add")
    run([gongdan, "model", "verify"], env, site, what="gongdan model verify")
    token = run([str(venv / "bin/python"), "-c", _TOKEN_SNIPPET], env, site,
                what="creating an agent and its API token").stdout.strip().splitlines()[-1]
    return {"env": env, "site": site, "token": token, "gongdan": gongdan, "model": model}


# An agent (sees tickets without a department) and a bearer token, through the services.
_TOKEN_SNIPPET = """
from appliance.bootstrap import boot
boot()
from appliance.rules.access import SYSTEM
from appliance.services import users
from appliance.models import User
users.create_user(SYSTEM, "smoke", "Smoke Agent", "agent")
print(users.create_api_token(users.actor_of(User.get(User.username == "smoke")), "smoke")[1])
"""


def smoke(ctx: dict, report: dict) -> None:
    env, site, token = ctx["env"], ctx["site"], ctx["token"]
    logs = {n: open(site / f"{n}.log", "w") for n in ("serve", "worker")}
    procs = {n: subprocess.Popen([ctx["gongdan"], n], env=env, cwd=site, stdout=logs[n],
                                 stderr=subprocess.STDOUT, start_new_session=True)
             for n in ("serve", "worker")}
    try:
        health = wait(lambda: http("GET", "/healthz")[1], 90, "/healthz")
        report["healthz"] = health
        if health.get("status") != "ok":
            raise Failed(f"/healthz is not ok: {health}")
        status, body = http("POST", "/api/v1/tickets", token, {
            "subject": "打印机卡纸 printer jammed on floor 3",
            "description": "三楼的打印机卡纸了，订单号 SO20260501001，请尽快处理。The printer on floor 3 keeps jamming."})
        if status != 201:
            raise Failed(f"POST /api/v1/tickets answered {status}: {body}")
        summary = body.get("summary", body)
        ticket = summary["id"]
        report["ticket"] = {"id": ticket, "number": summary.get("number")}
        triage = wait(lambda: _enriched(ticket, token), 240, "AI enrichment with the bundled model")
        report["triage"] = triage
        report["search"] = wait(lambda: _found(ticket, token), 60, "search to find the ticket")
        time.sleep(2)
        report["rss_kib"] = {n: rss_kib(p.pid) for n, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        for f in logs.values():
            f.close()
        report["worker_log_tail"] = (site / "worker.log").read_text(errors="replace")[-3000:]


def _enriched(ticket: int, token: str):
    status, body = http("GET", f"/api/v1/tickets/{ticket}/triage", token)
    runs = [r for r in (body or {}).get("runs", []) if r.get("stage") == "enrich"] if status == 200 else []
    return {"triage_state": body["triage_state"], "runs": body["runs"]} if runs else None


def _found(ticket: int, token: str):
    """Both an English and a Chinese (jieba-segmented) word find the ticket."""
    found = {}
    for word in ("printer", "%E6%89%93%E5%8D%B0%E6%9C%BA"):  # 打印机
        status, body = http("GET", f"/api/v1/search?q={word}", token)
        items = (body or {}).get("items", []) if status == 200 else []
        ids = [item.get("ticket", item).get("id") for item in items]
        if ticket not in ids:
            return None
        found[word] = ids
    return found


def main() -> int:
    bundle, work, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    python = sys.argv[4] if len(sys.argv) > 4 else sys.executable
    report: dict = {"python": python}
    start = time.monotonic()
    try:
        venv, env = install(bundle, work, python, report)
        ctx = configure(bundle, work, venv, env)
        report["model"] = ctx["model"]
        smoke(ctx, report)
        report["ok"] = True
    except (Failed, subprocess.TimeoutExpired, OSError, KeyError) as exc:
        report["ok"], report["error"] = False, str(exc)
    report["total_seconds"] = round(time.monotonic() - start, 1)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
