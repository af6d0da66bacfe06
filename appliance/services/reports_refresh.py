"""Keeping the report aggregates equal to the ticket tables (docs/decisions/0040).

`refresh` (the periodic task, every few minutes) re-reads the tickets and surveys that
changed since the last run, rewrites their facts where they differ and recomputes, from
the facts, every bucket an old or a new fact falls in, so a bucket is never adjusted by a
difference and cannot drift. `rebuild` (`gongdan reports rebuild`) recomputes everything;
`reports_verify.verify` recomputes everything in memory and lists what differs.

What changed is found from cheap feeds: ids of append-only rows past the last ones read
(timeline, comments, SLA events, triage runs, article links and uses, surveys) less a
margin for rows committed late, tickets and articles updated since the watermark less an
overlap, surveys answered since then, tickets deleted (fewer tickets than facts), and a
rolling re-check of SWEEP tickets per run for changes no feed shows (an article unlinked,
a department deleted). Re-reading a ticket that did not change writes nothing.

Safe to run twice at once: every chunk locks the state row (PostgreSQL: FOR UPDATE;
SQLite: BEGIN IMMEDIATE) and recomputes from the rows as they are inside that lock.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import Case, DateField, DateTimeField, fn

from appliance import runtime
from appliance.db import database, is_postgres
from appliance.errors import Conflict
from appliance.jobs import unit_of_work
from appliance.models import (Article, ArticleTicket, ArticleUse, Comment, SlaEvent, Survey,
                              Ticket, TimelineEvent, TriageRun, utcnow)
from appliance.models.reports import (BUCKET_MEASURES, CREATED_MEASURES, FRT_BINS, HOURS,
                                      RESOLVED_MEASURES, ReportBucket, ReportFact, ReportState)
from appliance.services import reports_facts as facts

log = logging.getLogger(__name__)
OVERLAP = dt.timedelta(minutes=10)   # transactions that committed after the last run read
ID_MARGIN = 1000                     # ids allocated before, committed after the last run
SWEEP = 2000                         # tickets re-checked per run, round the whole table
CHUNK = 500                          # tickets per transaction
OR_BATCH = 50                        # bucket keys per query
STALE_REBUILD = dt.timedelta(hours=2)  # a rebuild marked running longer than this crashed
DIMS = ("department_id", "channel", "category_id", "agent_id")
FEEDS = {"timeline_event": (TimelineEvent, TimelineEvent.ticket),
         "comment": (Comment, Comment.ticket), "sla_event": (SlaEvent, SlaEvent.ticket),
         "triage_run": (TriageRun, TriageRun.ticket),
         "article_ticket": (ArticleTicket, ArticleTicket.ticket),
         "article_use": (ArticleUse, ArticleUse.ticket), "survey": (Survey, Survey.ticket)}
FACT_COLUMNS = tuple(f.name for f in ReportFact._meta.sorted_fields
                     if f.name not in ("id", "updated_at"))


@dataclass(frozen=True)
class Refreshed:
    tickets: int          # tickets re-read
    changed: int          # facts written or deleted
    buckets: int          # (day, department, channel) keys recomputed
    rebuilt: bool = False


def zone() -> ZoneInfo:
    return ZoneInfo(runtime.settings().timezone)


# --------------------------------------------------------------------------- buckets

def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _sums(day_field, measures, where):
    """Facts summed per full key, the day taken from `day_field` (day or rday)."""
    cols = [day_field.alias("day")] + [getattr(ReportFact, d) for d in DIMS]
    sums = [fn.SUM(getattr(ReportFact, m)).alias(m) for m in measures]
    if day_field is ReportFact.day:
        sums += [fn.SUM(Case(None, ((ReportFact.hour == i, ReportFact.created),), 0)).alias(h)
                 for i, h in enumerate(HOURS)]
        sums += [fn.SUM(Case(None, ((ReportFact.frt_bin == i, 1),), 0)).alias(f"frt_b{i:02d}")
                 for i in range(FRT_BINS)]
    q = ReportFact.select(*cols, *sums)
    if where is not None:
        q = q.where(where)
    return q.group_by(day_field, *[getattr(ReportFact, d) for d in DIMS]).dicts()


def bucket_rows(dkeys) -> list[dict]:
    """The bucket rows (both grains) of the (day, department, channel) keys `dkeys`,
    recomputed from the facts."""
    full: dict[tuple, dict] = {}
    keys = sorted(dkeys)
    for i in range(0, len(keys), OR_BATCH):
        batch = keys[i:i + OR_BATCH]
        _add_sums(full, _any_key(ReportFact.day, batch), _any_key(ReportFact.rday, batch))
    return _with_day_grain(full)


def bucket_rows_between(first: dt.date, last: dt.date) -> list[dict]:
    """Every bucket row of the days first..last, recomputed from the facts (rebuild)."""
    full: dict[tuple, dict] = {}
    _add_sums(full, (ReportFact.day >= first) & (ReportFact.day <= last),
              (ReportFact.rday >= first) & (ReportFact.rday <= last))
    return _with_day_grain(full)


def _add_sums(full: dict, created_where, resolved_where) -> None:
    for day_field, measures, where in ((ReportFact.day, CREATED_MEASURES, created_where),
                                       (ReportFact.rday, RESOLVED_MEASURES, resolved_where)):
        for r in _sums(day_field, measures, where):
            key = (_day(r.pop("day")),) + tuple(r.pop(d) for d in DIMS)
            row = full.setdefault(key, _zero(key, "f"))
            for m, v in r.items():
                row[m] += int(v or 0)   # PostgreSQL sums bigints as numeric


def _any_key(day_field, batch):
    cond = None
    for day, dept, channel in batch:
        one = ((day_field == day) & (ReportFact.department_id == dept)
               & (ReportFact.channel == channel))
        cond = one if cond is None else cond | one
    return cond


def _zero(key: tuple, grain: str) -> dict:
    row = {"grain": grain, "day": key[0], "department_id": key[1], "channel": key[2],
           "category_id": key[3], "agent_id": key[4]}
    row.update({m: 0 for m in BUCKET_MEASURES})
    return row


def _with_day_grain(full: dict[tuple, dict]) -> list[dict]:
    """The full-grain rows that hold anything, plus their sums per (day, department,
    channel, category) (grain "c") and per (day, department, channel) (grain "d")."""
    rows = [r for r in full.values() if any(r[m] for m in BUCKET_MEASURES)]
    coarse: dict[tuple, dict] = {}
    for r in rows:
        for grain, key in (("c", (r["day"], r["department_id"], r["channel"], r["category_id"])),
                           ("d", (r["day"], r["department_id"], r["channel"], 0))):
            c = coarse.setdefault((grain,) + key, _zero(key + (0,), grain))
            for m in BUCKET_MEASURES:
                c[m] += r[m]
    return rows + list(coarse.values())


def _write_buckets(dkeys, rows: list[dict]) -> None:
    batch_list = sorted(dkeys)
    for i in range(0, len(batch_list), OR_BATCH):
        cond = None
        for day, dept, channel in batch_list[i:i + OR_BATCH]:
            # grain first: the unique index (grain, day, department, channel, ...) serves it
            one = (ReportBucket.grain.in_(("f", "c", "d")) & (ReportBucket.day == day)
                   & (ReportBucket.department_id == dept) & (ReportBucket.channel == channel))
            cond = one if cond is None else cond | one
        ReportBucket.delete().where(cond).execute()
    _insert(ReportBucket, rows)


def _insert(model, rows: list[dict]) -> None:
    """Plain DB-API inserts: peewee's insert_many spends far more time building the SQL
    text than the database spends storing the rows (measured: 30 s of 38 s in a rebuild)."""
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if f.name != "id"]
    cols = ", ".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    if is_postgres():
        from psycopg2.extras import execute_values
        values = [tuple(r[f.name] for f in fields) for r in rows]
        sql = f'INSERT INTO "{table}" ({cols}) VALUES %s'  # nosec B608  # model names only
        execute_values(database.cursor(), sql, values, page_size=1000)
        return
    # As peewee stores them in SQLite: dates and times as their ISO text.
    times = {f.name for f in fields if isinstance(f, (DateField, DateTimeField))}
    values = [tuple((str(v) if v is not None else None) if f.name in times else v
                    for f in fields for v in (r[f.name],)) for r in rows]
    marks = ", ".join("?" * len(fields))
    sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'  # nosec B608  # model names only
    database.cursor().executemany(sql, values)


def dkeys_of(row: dict) -> set[tuple]:
    keys = {(row["day"], row["department_id"], row["channel"])}
    if row["rday"] is not None:
        keys.add((row["rday"], row["department_id"], row["channel"]))
    return keys


# --------------------------------------------------------------------------- facts

def _stored(kind: str, ids: list[int]) -> dict[int, dict]:
    rows = (ReportFact.select(*[getattr(ReportFact, c) for c in FACT_COLUMNS])
            .where((ReportFact.kind == kind) & ReportFact.ref_id.in_(ids)).dicts())
    return {r["ref_id"]: _normal(r) for r in rows}


def _normal(row: dict) -> dict:
    """A stored fact as reports_facts builds it (SQLite hands dates back as text)."""
    row["day"] = _day(row["day"])
    row["rday"] = _day(row["rday"]) if row["rday"] is not None else None
    if row["opened_at"] is not None and not isinstance(row["opened_at"], dt.datetime):
        row["opened_at"] = dt.datetime.fromisoformat(str(row["opened_at"]))
    row["is_open"] = bool(row["is_open"])
    return row


def same(a: dict, b: dict) -> bool:
    return all(a[c] == b[c] for c in FACT_COLUMNS)


def apply(kind: str, ids: list[int], tz: ZoneInfo) -> tuple[int, int]:
    """Bring the facts of `ids` up to date and their buckets with them, in one locked
    transaction; returns (facts changed, bucket keys recomputed)."""
    build = facts.ticket_facts if kind == "ticket" else facts.survey_facts
    with unit_of_work():
        if _lock().rebuilding_since is not None:
            return 0, 0          # a rebuild started: it reads these rows itself
        new = build(ids, tz)
        old = _stored(kind, ids)
        changed = [i for i in ids if (i in new) != (i in old)
                   or (i in new and not same(new[i], old[i]))]
        if not changed:
            return 0, 0
        dkeys: set[tuple] = set()
        for i in changed:
            for row in (old.get(i), new.get(i)):
                if row is not None:
                    dkeys |= dkeys_of(row)
        ReportFact.delete().where((ReportFact.kind == kind)
                                  & ReportFact.ref_id.in_(changed)).execute()
        now = utcnow()
        _insert(ReportFact, [{**new[i], "updated_at": now} for i in changed if i in new])
        _write_buckets(dkeys, bucket_rows(dkeys))
    return len(changed), len(dkeys)


def _lock() -> ReportState:
    """The state row, locked until the transaction ends (created on first use)."""
    if is_postgres():
        database.execute_sql("INSERT INTO report_state (id, time_zone, last_ids, sweep_after) "
                             "VALUES (1, '', '{}', 0) ON CONFLICT (id) DO NOTHING")
        return ReportState.select().where(ReportState.id == 1).for_update().get()
    state = ReportState.get_or_none(ReportState.id == 1)
    return state or ReportState.create(id=1, last_ids={})


# --------------------------------------------------------------------------- runs

def refresh(now: dt.datetime | None = None) -> Refreshed:
    """The periodic run: bring the aggregates up to date with what changed."""
    now = now or utcnow()
    tz = zone()
    state = ReportState.get_or_none(ReportState.id == 1)
    if state is not None and _rebuilding(state, now):
        return Refreshed(0, 0, 0)
    if state is None or state.rebuilt_at is None or state.time_zone != str(tz.key):
        try:
            return rebuild(now)
        except Conflict:          # another worker started it a moment ago
            return Refreshed(0, 0, 0)
    since = (state.changed_since or now) - OVERLAP
    last_ids = _max_ids()
    tickets, surveys = changed_rows(since, state.last_ids or {}, now)
    sweep = list(Ticket.select(Ticket.id).where(Ticket.id > state.sweep_after)
                 .order_by(Ticket.id).limit(SWEEP).tuples())
    tickets |= {t for (t,) in sweep}
    surveys |= _surveys_of(tickets)
    n_changed = n_keys = 0
    # Deletions last: only once every live row has its fact do more facts than rows
    # mean that some rows are gone.
    for kind, ids in (("ticket", tickets), ("survey", surveys), ("ticket", None),
                      ("survey", None)):
        ids = sorted(_deleted(kind) if ids is None else ids)
        for i in range(0, len(ids), CHUNK):
            c, k = apply(kind, ids[i:i + CHUNK], tz)
            n_changed, n_keys = n_changed + c, n_keys + k
    with unit_of_work():
        st = _lock()
        if st.rebuilding_since is not None or (st.rebuilt_at or now) > now:
            return Refreshed(len(tickets), n_changed, n_keys)   # a rebuild owns the state
        # Another run may have gone further meanwhile: never move the watermark back.
        if st.changed_since is None or st.changed_since < now:
            st.changed_since = now
        st.last_ids = {k: max(v, (st.last_ids or {}).get(k, 0)) for k, v in last_ids.items()}
        st.sweep_after = sweep[-1][0] if len(sweep) == SWEEP else 0
        st.refreshed_at = utcnow()
        st.save()
    if n_changed:
        log.info("reports: %d facts rewritten, %d bucket keys recomputed", n_changed, n_keys)
    return Refreshed(len(tickets), n_changed, n_keys)


def _rebuilding(state: ReportState, now: dt.datetime) -> bool:
    since = state.rebuilding_since
    return since is not None and now - since < STALE_REBUILD


def _max_ids() -> dict[str, int]:
    return {name: model.select(fn.MAX(model.id)).scalar() or 0
            for name, (model, _) in FEEDS.items()}


def changed_rows(since: dt.datetime, last_ids: dict, now: dt.datetime
                 ) -> tuple[set[int], set[int]]:
    """Ticket and survey ids that may have changed since the watermark."""
    tickets = {t for (t,) in Ticket.select(Ticket.id).where(Ticket.updated_at >= since).tuples()}
    for name, (model, ticket_field) in FEEDS.items():
        last = last_ids.get(name, 0)
        # Rows past the last id read, and recent ones just below it (committed late); the
        # id range comes first so the primary key bounds the scan.
        tickets |= {t for (t,) in model.select(ticket_field).where(
            (model.id > max(0, last - ID_MARGIN))
            & ((model.id > last) | (model.created_at >= since))
            & ticket_field.is_null(False)).distinct().tuples()}
    articles = Article.select(Article.id).where(Article.updated_at >= since)
    tickets |= {t for (t,) in ArticleTicket.select(ArticleTicket.ticket).where(
        ArticleTicket.article.in_(articles)).distinct().tuples()}
    last = last_ids.get("survey", 0)
    link_days = dt.timedelta(days=runtime.settings().csat_link_days + 1)
    surveys = {s for (s,) in Survey.select(Survey.id).where(
        (Survey.id > max(0, last - ID_MARGIN))
        & ((Survey.id > last) | (Survey.created_at >= since))).tuples()}
    # Answers: only surveys whose link still works can be answered (index kind, created_at).
    surveys |= {s for (s,) in Survey.select(Survey.id).where(
        Survey.kind.in_(("csat", "nps")) & (Survey.created_at >= since - link_days)
        & (Survey.answered_at >= since)).tuples()}
    return tickets, surveys


def _surveys_of(tickets: set[int]) -> set[int]:
    ids = sorted(tickets)
    out: set[int] = set()
    for i in range(0, len(ids), 5000):
        out |= {s for (s,) in Survey.select(Survey.id).where(
            Survey.ticket.in_(ids[i:i + 5000])).tuples()}
    return out


def _deleted(kind: str) -> set[int]:
    """Facts whose ticket or survey is gone; counted first, so the usual run costs two
    counts."""
    model = Ticket if kind == "ticket" else Survey
    stored = ReportFact.select().where(ReportFact.kind == kind).count()
    if stored <= model.select().count():
        return set()
    gone = (ReportFact.select(ReportFact.ref_id).where(
        (ReportFact.kind == kind) & ReportFact.ref_id.not_in(model.select(model.id))))
    return {r for (r,) in gone.tuples()}


def full_facts(tz: ZoneInfo, chunk: int = 2000):
    """Every fact, recomputed from the raw rows, chunk by chunk."""
    for kind, model, build in (("ticket", Ticket, facts.ticket_facts),
                               ("survey", Survey, facts.survey_facts)):
        after = 0
        while True:
            ids = [i for (i,) in model.select(model.id).where(model.id > after)
                   .order_by(model.id).limit(chunk).tuples()]
            if not ids:
                break
            after = ids[-1]
            yield kind, build(ids, tz)


def rebuild(now: dt.datetime | None = None, *, force: bool = False) -> Refreshed:
    """Recompute every fact and bucket from the raw rows. Chunk by chunk, each in its own
    short transaction (SQLite's single write lock is never held for minutes); refreshes
    wait meanwhile (`rebuilding_since`), and the next one re-reads what changed since the
    start. Refused while another rebuild runs, unless it is older than STALE_REBUILD (a
    crashed one) or `force`."""
    now = now or utcnow()
    tz = zone()
    last_ids = _start_rebuild(now, force)
    with unit_of_work():
        ReportBucket.delete().execute()
        ReportFact.delete().execute()
    n = 0
    for _, rows in full_facts(tz):
        with unit_of_work():
            _insert(ReportFact, [{**r, "updated_at": now} for r in rows.values()])
        n += len(rows)
    buckets = _rebuild_buckets()
    for table in ("report_fact", "report_bucket"):   # fresh planner statistics
        database.execute_sql(f"ANALYZE {table}")  # nosec B608  # constant names
    with unit_of_work():
        _lock()
        ReportState.update(time_zone=str(tz.key), changed_since=now, last_ids=last_ids,
                           sweep_after=0, refreshed_at=utcnow(), rebuilt_at=utcnow(),
                           rebuilding_since=None).where(ReportState.id == 1).execute()
    log.info("reports rebuilt: %d facts, %d buckets", n, buckets)
    return Refreshed(n, n, buckets, rebuilt=True)


def _start_rebuild(now: dt.datetime, force: bool) -> dict[str, int]:
    with unit_of_work():
        st = _lock()
        if st.rebuilding_since is not None and not force and (
                now - st.rebuilding_since < STALE_REBUILD):
            raise Conflict("a rebuild of the report aggregates is already running")
        last_ids = _max_ids()
        ReportState.update(rebuilding_since=now, rebuilt_at=None).where(
            ReportState.id == 1).execute()
    return last_ids


def _rebuild_buckets(span: int = 31) -> int:
    """All buckets from the facts, `span` days at a time (bounded memory)."""
    ends = [_day(v) for v in (ReportFact.select(fn.MIN(ReportFact.day)).scalar(),
                              ReportFact.select(fn.MIN(ReportFact.rday)).scalar(),
                              ReportFact.select(fn.MAX(ReportFact.day)).scalar(),
                              ReportFact.select(fn.MAX(ReportFact.rday)).scalar()) if v]
    if not ends:
        return 0
    day, last, n = min(ends), max(ends), 0
    while day <= last:
        rows = bucket_rows_between(day, day + dt.timedelta(days=span - 1))
        with unit_of_work():
            _insert(ReportBucket, rows)
        n += len(rows)
        day += dt.timedelta(days=span)
    return n
