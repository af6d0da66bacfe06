"""Bulk-load N tickets (default 1,000,000) with conversations and timelines, for benchmarks.

    .venv/bin/python bench/load_million.py -n 1000000          # into bench/out/bench.db

Runs `gongdan db upgrade` on the bench config first, makes the organisation and the
bench logins through the real services, then writes customers, tickets, comments,
timeline events and tags with batched INSERTs inside transactions: going through the
services would take hours at this size, and the point is a realistic *database* for
the read-side benchmarks. The INSERTs go through the DB-API `executemany` of peewee's
connection rather than `Model.insert_many`: profiled on 20k tickets, insert_many spent
84 of 88 s building SQL text in Python (peewee's _generate_insert) and 5 s in SQLite. Texts come from the datasets in
../shared/data (via appliance.demo_texts); statuses, departments and assignees follow
a helpdesk's shape: most old tickets closed, a live backlog in recent weeks.

Secondary indexes are dropped during the load and recreated at the end (one sort
instead of a million random B-tree inserts each), and the journal is off while loading
(a crash means re-running the load); the schema itself is untouched and the database
is back in WAL mode at the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import common  # noqa: E402  (bench/common.py; puts the repo root on sys.path)

from appliance import demo_texts as texts
from appliance.db import database
from appliance.models import (Comment, Customer, CustomerContact, NumberSequence, Ticket,
                              TicketTag, TimelineEvent, User)
from appliance.rules.access import SYSTEM
from appliance.services import customer_names, encryption, identity, org, users

TABLES = ("ticket", "comment", "timeline_event", "ticket_tag")
DAYS = 730                 # two years of history
AGENTS_PER_DEPT = 16
CUSTOMERS = 50_000
CHUNK = 20_000             # tickets per transaction
STATUSES = ("new", "open", "pending_customer", "pending_internal", "resolved", "closed")
URGENCY = {1: "high", 2: "high", 3: "medium", 4: "low"}


@dataclass
class Org:
    departments: dict[str, int] = field(default_factory=dict)
    categories: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (id, dept id)
    agents: dict[int, list[int]] = field(default_factory=dict)           # dept id -> user ids
    customers: int = 0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--tickets", type=int, default=1_000_000)
    p.add_argument("--out", type=Path, default=common.OUT, help="bench folder (db, config)")
    p.add_argument("--data-dir", type=Path, default=common.DATA)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fresh", action="store_true", help="delete an existing bench database first")
    args = p.parse_args(argv)
    prepare(args.out, args.fresh)
    if Ticket.select().exists():
        sys.exit(f"{args.out}: the bench database already has tickets; reuse it or pass --fresh")
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    o = make_org(rng, args.out)
    pool = texts.load_pool(args.data_dir, random.Random(args.seed), size=100_000)
    counts = load_tickets(o, pool, rng, args.tickets)
    report(counts, time.perf_counter() - t0, args)


def prepare(out: Path, fresh: bool) -> None:
    """Fresh database file if asked, then migrations exactly as an install runs them."""
    config = common.config_path(out)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{out}/bench.db{suffix}").unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "appliance.cli", "db", "upgrade"], check=True,
                   env=common.bench_env(out), cwd=common.ROOT)
    common.boot(out)
    database.connect(reuse_if_open=True)
    print(f"database: {config} -> {database.database}")


def make_org(rng: random.Random, out: Path) -> Org:
    """Departments, categories and bench logins by the services; the crowd by bulk insert."""
    o = Org()
    for code, name, name_en, teams in texts.DEPARTMENTS:
        o.departments[code] = org.save_department(SYSTEM, code, name, name_en).id
    for parent, code, children in texts.CATEGORIES:
        top = org.save_category(SYSTEM, parent, department_id=o.departments[code])
        for child in children:
            c = org.save_category(SYSTEM, child, parent_id=top.id, department_id=o.departments[code])
            o.categories[f"{parent}/{child}"] = (c.id, o.departments[code])
    for position, (key, label, kind, options) in enumerate(texts.CUSTOM_FIELDS):
        org.save_custom_field(SYSTEM, key, label, kind, options, position=position)
    make_logins(o, out)
    with database.atomic():
        for code, dept_id in o.departments.items():
            now = str(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
            rows = [(f"{code.lower()}.agent{i:02d}", f"{code} agent {i:02d}", "agent", dept_id,
                     "", 1, 0, "", 10, now, 1)
                    for i in range(AGENTS_PER_DEPT)]
            # Empty password hash and no address: these accounts cannot log in or receive
            # mail; they only own tickets.
            insert(User, rows, [User.username, User.display_name, User.role, User.department,
                                User.password_hash, User.active,
                                User.must_change_password, User.locale, User.capacity,
                                User.created_at, User.version])
            o.agents[dept_id] = [u.id for u in User.select(User.id).where(
                (User.department == dept_id) & (User.role == "agent"))]
        o.customers = bulk_customers(rng)
    return o


def make_logins(o: Org, out: Path) -> None:
    """The accounts the HTTP bench logs in with; passwords generated, kept owner-only."""
    cs = o.departments["CS"]
    lines = ["# bench logins: username, password, role, API token, TOTP secret (tab-separated)"]
    for username, role, dept in (("bench.agent", "agent", cs), ("bench.lead", "supervisor", cs),
                                 ("bench.admin", "admin", None)):
        view, password = users.create_user(SYSTEM, username, username, role, department_id=dept,
                                           email=f"{username}@example.com")
        token = secret = ""
        if role == "admin":
            who = users.actor_of(User.get_by_id(view.id))
            _, token = users.create_api_token(who, "bench")
            secret = enrol_totp(who)
        lines.append("\t".join((username, password, role, token, secret)))
    path = out / common.LOGINS
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def enrol_totp(who) -> str:
    """The administrator's authenticator, as an administrator sets it up (the security
    policy requires a second factor for the role); the bench computes its codes."""
    import pyotp

    from appliance import runtime
    from appliance.services import mfa
    secret = mfa.pending_secret(who, runtime.settings())["secret"]
    mfa.confirm_enrolment(who, pyotp.TOTP(secret).now(), runtime.settings())
    return secret


def bulk_customers(rng: random.Random) -> int:
    people = texts.customer_people(rng, CUSTOMERS)
    now = str(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    # Names sealed and blind-indexed as services.customer_names stores them (decision 0050).
    insert(Customer, [(i + 1, *customer_names.columns(i + 1, name).values(), company, "[]", "",
                       now, 1) for i, (name, company, _) in enumerate(people)],
           [Customer.id, Customer.name_enc, Customer.name_bidx, Customer.company,
            Customer.tags, Customer.notes, Customer.created_at, Customer.version])
    contacts = []
    for i, (_, _, email) in enumerate(people):
        for kind, raw in (("phone", f"138 {i // 10000:04d} {i % 10000:04d}"),
                          ("email", email.replace("@", f".{i}@"))):
            # Encrypted and blind-indexed as services.contacts stores them (decision 0030).
            value, row_id = identity.normalize(kind, raw), len(contacts) + 1
            contacts.append((row_id, i + 1, kind,
                             encryption.seal("customer_contact", "value", row_id, value),
                             encryption.blind(kind, value), ""))
    insert(CustomerContact, contacts, [CustomerContact.id, CustomerContact.customer,
                                       CustomerContact.kind, CustomerContact.value_enc,
                                       CustomerContact.value_bidx, CustomerContact.label])
    return len(people)


def insert(model, rows: list[tuple], fields: list) -> None:
    """executemany of rows already in database form (str times, JSON text, 0/1).

    Columns the rows leave out get the model's default: later migrations added NOT NULL
    columns whose default lives in the model, not in the schema."""
    given = {f.name for f in fields}  # by name: a peewee Field's == builds an expression
    rest = [f for f in model._meta.sorted_fields if f.name not in given and not f.primary_key
            and not f.null and f.default is not None]
    extra = tuple(_db_default(f) for f in rest)
    cols = ", ".join(f'"{f.column_name}"' for f in fields + rest)
    sql = (f'INSERT INTO "{model._meta.table_name}" ({cols}) '
           f'VALUES ({", ".join("?" * (len(fields) + len(rest)))})')
    database.cursor().executemany(sql, [row + extra for row in rows] if extra else rows)


def _db_default(field):
    value = field.default() if callable(field.default) else field.default
    # JSON as text, like the rows themselves (db_value would wrap it in an SQL function)
    return json.dumps(value) if isinstance(value, (dict, list)) else field.db_value(value)


# --- tickets ----------------------------------------------------------------------------

T_FIELDS = [Ticket.id, Ticket.number, Ticket.subject, Ticket.description, Ticket.channel,
            Ticket.status, Ticket.is_open, Ticket.priority, Ticket.urgency, Ticket.category,
            Ticket.department, Ticket.assignee, Ticket.customer, Ticket.custom_fields,
            Ticket.created_at, Ticket.updated_at, Ticket.first_response_at, Ticket.resolved_at,
            Ticket.closed_at, Ticket.version]
C_FIELDS = [Comment.id, Comment.ticket, Comment.author, Comment.author_kind, Comment.internal,
            Comment.body, Comment.channel, Comment.created_at]
E_FIELDS = [TimelineEvent.ticket, TimelineEvent.actor, TimelineEvent.kind, TimelineEvent.field,
            TimelineEvent.before, TimelineEvent.after, TimelineEvent.internal,
            TimelineEvent.created_at]


class Batch:
    """Rows for one chunk of tickets, built by `story`."""

    def __init__(self):
        self.tickets: list[tuple] = []
        self.comments: list[tuple] = []
        self.events: list[tuple] = []
        self.tags: list[tuple] = []


def load_tickets(o: Org, pool: texts.Pool, rng: random.Random, n: int) -> dict[str, int]:
    saved = drop_indexes()
    database.execute_sql("PRAGMA journal_mode = OFF")   # bulk load only; WAL again below
    database.execute_sql("PRAGMA synchronous = OFF")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = now - dt.timedelta(days=DAYS)
    seq: dict[int, int] = {}
    counts = dict(tickets=0, comments=0, events=0, tags=0)
    comment_id, t0 = 0, time.perf_counter()
    for first in range(1, n + 1, CHUNK):
        b = Batch()
        for tid in range(first, min(first + CHUNK, n + 1)):
            created = start + dt.timedelta(seconds=(tid / n) * DAYS * 86400 * 0.999
                                           + rng.uniform(0, 60))
            seq[created.year] = seq.get(created.year, 0) + 1
            number = f"GD-{created.year}-{seq[created.year]:06d}"
            comment_id = story(b, o, pool, rng, tid, number, created, now, comment_id)
        with database.atomic():
            insert(Ticket, b.tickets, T_FIELDS)
            insert(Comment, b.comments, C_FIELDS)
            insert(TimelineEvent, b.events, E_FIELDS)
            insert(TicketTag, b.tags, [TicketTag.ticket, TicketTag.tag])
        for k in counts:
            counts[k] += len(getattr(b, k))
        elapsed = time.perf_counter() - t0
        print(f"  {counts['tickets']:>9,} tickets  {elapsed:7.1f}s  "
              f"{counts['tickets'] / elapsed:8,.0f} tickets/s", flush=True)
    counts["index_seconds"] = finish(saved, seq)
    return counts


def finish(saved_indexes: list[str], seq: dict[int, int]) -> int:
    """Indexes back, number sequences continued, statistics, WAL again; returns index seconds."""
    t1 = time.perf_counter()
    restore_indexes(saved_indexes)
    seconds = round(time.perf_counter() - t1)
    for year, last in seq.items():
        NumberSequence.insert(year=year, last=last).on_conflict_replace().execute()
    database.execute_sql("ANALYZE")
    database.execute_sql("PRAGMA journal_mode = WAL")
    return seconds


def _status(rng: random.Random, age_days: float) -> str:
    """A live backlog in the last two weeks; older tickets almost all closed."""
    if age_days < 3:
        weights = (20, 30, 15, 10, 20, 5)
    elif age_days < 14:
        weights = (3, 15, 10, 7, 30, 35)
    else:
        weights = (0.1, 0.5, 0.4, 0.2, 0.8, 98)
    return rng.choices(STATUSES, weights)[0]


def story(b: Batch, o: Org, pool: texts.Pool, rng: random.Random, tid: int, number: str,
          created: dt.datetime, now: dt.datetime, comment_id: int) -> int:
    """Append one ticket with its conversation and timeline; returns the last comment id.

    Values are in database form already (text times, JSON text, 0/1): see `insert`.
    """
    src = pool.take("en" if rng.random() < 0.4 else "zh")
    status = _status(rng, (now - created).total_seconds() / 86400)
    cat_id, dept = o.categories[src.category]
    triage = status == "new" and rng.random() < 0.3
    assignee = None if status == "new" and rng.random() < 0.8 else _pick_agent(rng, o, dept)
    channel = rng.choice(texts.CHANNELS)
    w = _Writer(b, tid, channel, assignee, created, now, comment_id)
    w.event(None, "created", "", None, f'{{"number": "{number}", "channel": "{channel}"}}')
    if assignee:
        w.tick(rng.uniform(60, 5400))
        w.event(None, "assigned", "assignee_id", None, str(assignee))
    if status != "new":
        _work(rng, w, src, status)
    order = f', "order_no": "{src.order_no}"' if src.order_no else ""
    b.tickets.append((tid, number, src.subject, src.description, channel, status,
                      int(status not in ("resolved", "closed")), src.priority,
                      URGENCY[src.priority], None if triage else cat_id, None if triage else dept,
                      assignee, rng.randint(1, o.customers),
                      f'{{"product_line": "{src.product}"{order}}}', str(created), str(w.clock),
                      w.first_response, w.resolved, w.closed, w.events))
    if rng.random() < 0.05:
        b.tags.append((tid, rng.choice(texts.TAGS)))
    return w.comment_id


class _Writer:
    """Appends one ticket's comments and events to the batch along its own clock."""

    def __init__(self, b: Batch, tid: int, channel: str, assignee: int | None,
                 created: dt.datetime, now: dt.datetime, comment_id: int):
        self.b, self.tid, self.channel, self.assignee = b, tid, channel, assignee
        self.clock, self.now, self.comment_id, self.events = created, now, comment_id, 0
        self.first_response = self.resolved = self.closed = None

    def tick(self, seconds: float) -> str:
        self.clock = min(self.clock + dt.timedelta(seconds=seconds), self.now)
        return str(self.clock)

    def event(self, actor, kind: str, field_: str, before, after, internal: bool = False) -> None:
        self.b.events.append((self.tid, actor, kind, field_, before, after, int(internal),
                              str(self.clock)))
        self.events += 1

    def comment(self, who: str, body: str, internal: bool) -> None:
        self.comment_id += 1
        author = self.assignee if who == "agent" else None
        self.b.comments.append((self.comment_id, self.tid, author, who, int(internal), body,
                                "web" if who == "agent" else self.channel, str(self.clock)))
        self.event(author, "note_added" if internal else "reply_added", "", None,
                   f'{{"comment_id": {self.comment_id}}}', internal)


def _work(rng: random.Random, w: _Writer, src: texts.Source, status: str) -> None:
    """The conversation, then the status moves to where the ticket stands now."""
    for who, body, internal in _conversation(rng, src, status):
        w.tick(rng.uniform(300, 36000))
        w.comment(who, body, internal)
        if who == "agent" and not internal and w.first_response is None:
            w.first_response = str(w.clock)
            w.event(w.assignee, "status_changed", "status", '"new"', '"open"')
    previous = '"open"'
    for step in {"pending_customer": ["pending_customer"], "pending_internal":
                 ["pending_internal"], "resolved": ["resolved"],
                 "closed": ["resolved", "closed"]}.get(status, []):
        when = w.tick(rng.uniform(1800, 259200))
        w.event(w.assignee, "status_changed", "status", previous, f'"{step}"')
        previous = f'"{step}"'
        if step == "resolved":
            w.resolved = when
        else:
            w.closed = when if step == "closed" else w.closed


def _pick_agent(rng: random.Random, o: Org, dept: int) -> int:
    team = o.agents[dept]
    # A few agents carry more of the load than others, as in any team.
    return team[min(int(rng.expovariate(1 / (len(team) / 2.5))), len(team) - 1)]


def _conversation(rng: random.Random, src: texts.Source, status: str) -> list[tuple]:
    """(author kind, body, internal) for a worked ticket: 1-4 comments, ~2.5 on average."""
    lang = src.lang
    say = [("agent", src.reply or texts.reply(src), False)]
    if rng.random() < 0.3:
        say.append(("agent", texts.pick(rng, "note", lang), True))
    if status == "pending_customer":
        say.append(("agent", texts.pick(rng, "ask", lang), False))
    if status in ("resolved", "closed"):
        if rng.random() < 0.6:
            say.append(("customer", texts.pick(rng, "follow", lang), False))
        say.append(("agent", texts.pick(rng, "done", lang), False))
    return say


def drop_indexes() -> list[str]:
    rows = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({', '.join('?' * len(TABLES))})", TABLES).fetchall()
    for (sql,) in rows:
        name = sql.split('"')[1]
        database.execute_sql(f'DROP INDEX "{name}"')
    return [sql for (sql,) in rows]


def restore_indexes(sqls: list[str]) -> None:
    for sql in sqls:
        database.execute_sql(sql)


def report(counts: dict[str, int], seconds: float, args) -> None:
    rows = sum(v for k, v in counts.items() if k != "index_seconds")
    size = sum(Path(f"{args.out}/bench.db{s}").stat().st_size
               for s in ("", "-wal") if Path(f"{args.out}/bench.db{s}").exists())
    print()
    print(common.table(["tickets", "comments", "events", "tags", "rows/s", "tickets/s",
                        "index rebuild s", "total s", "db MiB"],
                       [[counts["tickets"], counts["comments"], counts["events"], counts["tags"],
                         rows / seconds, counts["tickets"] / seconds, counts["index_seconds"],
                         seconds, size / 2**20]]))
    print(f"machine: {common.machine()}")


if __name__ == "__main__":
    main()
