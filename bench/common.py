"""Shared by the benchmark scripts: where data lives, the bench config, figures and tables.

Benchmarks run against their own configuration file (bench/out/gongdan.toml by
default, git-ignored), so they never touch var/ or a developer's database, and the
web server they start reads exactly the settings the product reads.
"""
from __future__ import annotations

import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("GONGDAN_BENCH_OUT", ROOT / "bench" / "out")).resolve()
DATA = ROOT.parent / "shared" / "data"
LOGINS = "bench-logins.txt"   # user name, password, role, API token of the bench users

if str(ROOT) not in sys.path:  # scripts run as `python bench/x.py` from the repo root
    sys.path.insert(0, str(ROOT))


def config_path(out: Path = OUT) -> Path:
    """The bench's settings file; written once with its own secret key."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "gongdan.toml"
    if not path.exists():
        path.write_text(
            f'database_url = "sqlite:///{out}/bench.db"\n'
            f'queue_url = "sqlite:///{out}/queue.db"\n'
            f'index_dir = "{out}/index"\n'
            f'attachment_dir = "{out}/attachments"\n'
            f'keys_dir = "{out}/keys"\n'
            f'secret_key = "{secrets.token_hex(32)}"\n'
            'log_level = "WARNING"\n', encoding="utf-8")
        os.chmod(path, 0o600)
    return path


def bench_env(out: Path = OUT, **overrides: str) -> dict[str, str]:
    """Environment for a child process (gongdan CLI, gunicorn) using the bench config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
    env["GONGDAN_CONFIG"] = str(config_path(out))
    ensure_master_key(out)
    env.update({f"GONGDAN_{k.upper()}": str(v) for k, v in overrides.items()})
    return env


def ensure_master_key(out: Path = OUT) -> None:
    """The encryption master key and the audit keys of the bench site, as `gongdan init`
    makes them (each kept when it exists)."""
    from appliance.settings import load_settings
    site_keys(load_settings(config_path(out), environ={}))


def site_keys(settings) -> None:
    """The encryption master key and audit keys of a throw-away site built from a
    Settings object (its keys_dir), as `gongdan init` makes them."""
    from appliance import audit_keys, keystore
    keystore.create_master(settings, environ={})
    audit_keys.create(settings)


def boot(out: Path = OUT):
    """Bind this process to the bench database (no queue: the bench runs jobs itself)."""
    from appliance.bootstrap import boot as app_boot
    from appliance.settings import load_settings
    ensure_master_key(out)
    return app_boot(load_settings(config_path(out), environ={}), queue=False)


def read_logins(out: Path = OUT) -> dict[str, dict[str, str]]:
    rows = {}
    for line in (out / LOGINS).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            username, password, role, token, totp = (line.split("\t") + ["", ""])[:5]
            rows[role] = {"username": username, "password": password, "token": token,
                          "totp": totp}
    return rows


def stats_ms(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max of durations given in seconds, as milliseconds."""
    if not samples:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan"),
                "mean": float("nan"), "max": float("nan")}
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000
    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "mean": statistics.fmean(ordered) * 1000, "max": ordered[-1] * 1000}


def table(headers: list[str], rows: list[list]) -> str:
    """A plain Markdown table (pastes straight into docs/benchmarks.md)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in cells])


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> str:
    """One line about the box, including load from whatever else is running on it."""
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, Python {platform.python_version()}, "
            f"load average {load}, {time.strftime('%Y-%m-%d %H:%M')}")


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc (KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far, from /proc/<pid>/stat (seconds)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


# Fixed queries for search benchmarks: words agents type, from the kinds of problems
# in the datasets (phrases as well as single words, and one mixed-language query).
QUERIES = {
    "zh": ["物流", "退款", "屏幕", "发票", "质量太差", "快递很慢", "电池 充电", "客服态度",
           "酒店 前台", "退货 退款", "热水器", "洗发水 假货", "内存", "系统 卡顿", "iPad 屏幕"],
    "en": ["refund", "card declined", "cancel order", "delivery", "invoice", "password reset",
           "top up pending", "exchange rate", "shipping address", "transfer failed",
           "account", "lost card", "change order", "contact customer service", "payment issue"],
}
