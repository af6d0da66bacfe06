"""Time and size of `gongdan backup create|verify|restore` on a demo-sized site.

    .venv/bin/python bench/backup_bench.py [--tickets 300] [--files 200] [--file-kib 256]

Builds a fresh site under $GONGDAN_BENCH_OUT/backup (default bench/out/backup): `gongdan
init`, `gongdan demo load --tickets N`, then F tickets with one attachment each (random
text, so it does not compress); then runs create, verify, and restore into the emptied
data directory as subprocesses, the way an operator does, and prints seconds and sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess  # nosec B404  # the gongdan CLI, fixed arguments
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("GONGDAN_BENCH_OUT", ROOT / "bench" / "out")) / "backup"

ATTACH = """
import os, sys
from appliance.bootstrap import boot
settings = boot(queue=False)
from appliance.rules.access import SYSTEM
from appliance.services import tickets
from appliance.services.attachments import Upload
n, size = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    body = os.urandom(size // 2).hex().encode()
    tickets.create_ticket(SYSTEM, tickets.TicketInput(subject=f"bench attachment {i}"),
                          settings, uploads=[Upload(f"log{i}.txt", body)])
"""


PEAK_MIB: dict[str, float] = {}


def _run(env, *args) -> float:
    """Seconds the command took; its peak resident memory goes to PEAK_MIB."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT,  # nosec B603
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(args[:4])} failed with exit {proc.returncode}")
    PEAK_MIB[" ".join(args[2:4])] = round(usage.ru_maxrss / 1024, 1)
    return time.perf_counter() - started


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=300)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--file-kib", type=int, default=256)
    a = ap.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    cfg = OUT / "gongdan.toml"
    cfg.write_text(f'database_url = "sqlite:///{OUT}/g.db"\nqueue_url = "sqlite:///{OUT}/q.db"\n'
                   f'index_dir = "{OUT}/index"\nattachment_dir = "{OUT}/att"\n'
                   f'keys_dir = "{OUT}/keys"\nsecret_key = "bench-backup"\n', encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")},
           "GONGDAN_CONFIG": str(cfg)}
    cli = ["-m", "appliance.cli"]
    _run(env, *cli, "init")
    _run(env, *cli, "demo", "load", "--tickets", str(a.tickets))
    _run(env, "-c", ATTACH, str(a.files), str(a.file_kib * 1024))
    db, att, out = OUT / "g.db", OUT / "att", OUT / "site.gdbk"
    sizes = {"database_bytes": _size(db), "attachment_bytes": _size(att)}
    t_create = _run(env, *cli, "backup", "create", "--out", str(out))
    t_verify = _run(env, *cli, "backup", "verify", str(out))
    for p in (db, db.with_name("g.db-wal"), db.with_name("g.db-shm")):
        p.unlink(missing_ok=True)
    shutil.rmtree(att)
    t_restore = _run(env, *cli, "backup", "restore", str(out))
    result = {**sizes, "backup_bytes": out.stat().st_size, "tickets": a.tickets + a.files,
              "attachments": a.files, "create_s": round(t_create, 2),
              "verify_s": round(t_verify, 2), "restore_s": round(t_restore, 2),
              "peak_rss_mib": {k: v for k, v in PEAK_MIB.items() if k.startswith("backup")}}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
