"""TEST ONLY (not shipped): run what provisioning installed in a sandbox root, without
systemd. Reads the unit files the gongdan role wrote (ExecStart, Environment,
WorkingDirectory, StandardOutput; User= and the sandboxing lines are ignored) and starts
web and worker as detached processes; starts nginx with the top-level configuration the
nginx role writes in sandbox mode. upgrade.yml/restore.yml call it through
gongdan_sandbox_control, the way they call systemctl on a real host.

    python launcher.py --root ROOT start|stop|restart|status
    python launcher.py --root ROOT nginx-start|nginx-stop
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVICES = ("web", "worker")


def read_unit(path: Path) -> dict:
    """The [Service] keys a launcher needs; Environment= may repeat."""
    unit = {"Environment": []}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            if key == "Environment":
                unit["Environment"] += shlex.split(value)
            else:
                unit[key] = value
    return unit


def _pidfile(root: Path, name: str) -> Path:
    return root / "run" / f"gongdan-{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of nobody we know counts as gone
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def running(root: Path, name: str) -> int | None:
    path = _pidfile(root, name)
    try:
        pid = int(path.read_text())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def start_one(root: Path, name: str) -> bool:
    if running(root, name):
        return False
    unit = read_unit(root / "etc/systemd/system" / f"gongdan-{name}.service")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GONGDAN_", "ANSIBLE_"))}
    env.update(dict(item.split("=", 1) for item in unit["Environment"]))
    out = unit.get("StandardOutput", "")
    log = Path(out.split(":", 1)[1]) if out.startswith("append:") else root / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        proc = subprocess.Popen(shlex.split(unit["ExecStart"]), cwd=unit.get("WorkingDirectory"),
                                env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh,
                                start_new_session=True)
    _pidfile(root, name).parent.mkdir(parents=True, exist_ok=True)
    _pidfile(root, name).write_text(str(proc.pid))
    return True


def stop_one(root: Path, name: str, timeout: float = 30) -> bool:
    pid = running(root, name)
    if pid is None:
        _pidfile(root, name).unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _pidfile(root, name).unlink(missing_ok=True)
    return True


def nginx_conf(root: Path) -> Path:
    return root / "etc/nginx/gongdan-sandbox.conf"


def nginx_start(root: Path) -> bool:
    pid = root / "run/nginx.pid"
    if pid.exists() and _alive(int(pid.read_text().strip() or 0)):
        return False
    subprocess.run(["/usr/sbin/nginx", "-c", str(nginx_conf(root)), "-p",
                    str(root / "var/lib/nginx-sandbox") + "/"], check=True)
    return True


def nginx_stop(root: Path) -> bool:
    pid = root / "run/nginx.pid"
    if not pid.exists():
        return False
    subprocess.run(["/usr/sbin/nginx", "-c", str(nginx_conf(root)), "-p",
                    str(root / "var/lib/nginx-sandbox") + "/", "-s", "quit"], check=False)
    deadline = time.monotonic() + 10
    while pid.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("action", choices=["start", "stop", "restart", "status",
                                           "nginx-start", "nginx-stop"])
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.action == "nginx-start":
        print("started nginx" if nginx_start(root) else "nginx already running")
    elif args.action == "nginx-stop":
        print("stopped nginx" if nginx_stop(root) else "nginx not running")
    elif args.action == "status":
        for name in SERVICES:
            print(f"{name}: {running(root, name) or 'stopped'}")
    else:
        done = []
        if args.action in ("stop", "restart"):
            done += [f"stopped {n}" for n in SERVICES if stop_one(root, n)]
        if args.action in ("start", "restart"):
            done += [f"started {n}" for n in SERVICES if start_one(root, n)]
        print(", ".join(done) or ("already running" if args.action == "start" else "not running"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
