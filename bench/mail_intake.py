"""E-mail intake rate: messages per minute from a local Dovecot (IMAP) into tickets.

    .venv/bin/python bench/mail_intake.py              # 1,000 messages, SQLite
    .venv/bin/python bench/mail_intake.py -n 200 --database postgresql://postgres@127.0.0.1:5432/x

Appends N corpus messages (each with a unique Message-ID and sender, so none is a
duplicate or rate-limited) to a fresh folder with IMAP APPEND, then runs
`mail_fetch.fetch_mailbox` (200 per run, as the worker does) until the folder is done
and prints the rate. Only the fetch loop is timed; job handlers (triage, indexing)
are left in the outbox, as the worker would run them separately.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance import migrate, runtime  # noqa: E402
from appliance.db import bind_database  # noqa: E402
from appliance.models import Ticket  # noqa: E402
from appliance.rules.access import SYSTEM  # noqa: E402
from appliance.services import mail_fetch, mailboxes  # noqa: E402
from appliance.settings import Settings  # noqa: E402
from bench.common import site_keys  # noqa: E402
from tests.factories import make_org  # noqa: E402
from tests.imap_server import running_dovecot  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "mail_corpus"
NAMES = ["apple_mail_flowed.eml", "android_huawei_footer.eml", "foxmail_gbk_reply.eml",
         "netease_163_alternative.eml", "gmail_en_reply.eml", "text_only_short.eml",
         "outlook_zh_gb2312_reply.eml", "mixed_with_attachments.eml"]


def variant(raw: bytes, i: int) -> bytes:
    """A unique Message-ID and sender; no In-Reply-To/References, so each is a new ticket."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    nl = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    lines = [ln for ln in re.split(rb"\r?\n(?![ \t])", head)
             if not re.match(rb"(?i)(message-id|from|in-reply-to|references):", ln)]
    lines += [b"Message-ID: <bench-%d@bench.example>" % i, b"From: bench%d@customer.example" % i]
    return nl.join(lines) + sep + body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--database", default="")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gongdan-mail-bench-"))
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> None:
    url = args.database or f"sqlite:///{tmp / 'bench.db'}"
    settings = Settings(database_url=url, queue_url=f"sqlite:///{tmp / 'q.db'}",
                        index_dir=str(tmp / "index"), attachment_dir=str(tmp / "att"),
                        model_dir=str(tmp / "models"), secret_key="bench-secret",
                        timezone="UTC", keys_dir=str(tmp / "keys"))
    site_keys(settings)
    bind_database(url)
    migrate.upgrade()
    runtime.configure(settings)
    make_org()
    box = mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS")
    raws = [(CORPUS / n).read_bytes() for n in NAMES]
    with running_dovecot(tmp / "dovecot") as server:
        server.create("Bench")
        msgs = [variant(raws[i % len(raws)], i) for i in range(args.n)]
        t0 = time.perf_counter()
        server.append("Bench", *msgs)
        append_s = time.perf_counter() - t0
        mailboxes.configure_imap(SYSTEM, box.id, "127.0.0.1", server.port, "none",
                                 server.user, server.password, "Bench", True,
                                 settings=settings)
        t0, runs, total = time.perf_counter(), 0, 0
        while True:
            result = mail_fetch.fetch_mailbox(box.id, settings)
            runs += 1
            total += sum(result.statuses.values())
            if result.status != "done":
                raise SystemExit(f"fetch failed: {result.error}")
            if not result.more:
                break
        fetch_s = time.perf_counter() - t0
    tickets = Ticket.select().where(Ticket.channel == "email").count()
    size = sum(map(len, msgs))
    print(f"messages: {args.n} ({size / 1e6:.1f} MB), appended in {append_s:.1f} s")
    print(f"fetched into {tickets} tickets in {runs} runs, {fetch_s:.1f} s: "
          f"{total / fetch_s * 60:.0f} messages/minute")


if __name__ == "__main__":
    main()
