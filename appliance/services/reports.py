"""The reports dashboard (issue 10, docs/metrics.md, docs/decisions/0040): figures and
series over a date range with filters, and the tickets behind each of them.

Reads only the aggregates (models.reports: buckets for the range, open facts for the
backlog, facts for a drill-down), which services.reports_refresh keeps equal to the ticket
tables; so a dashboard costs the same at a million tickets as at a thousand.

Scope: holders of ticket.view_all see every department; other holders of report.view
(supervisors) their own department only; other staff (agents) their own figures only
(the agent filter is set to themselves); customers nothing. A drill-down lists only
tickets the reader may open (services.queues' visibility).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from peewee import SQL, Case, fn

from appliance import dto
from appliance.errors import PermissionDenied, ValidationError
from appliance.models import Category, Department, Ticket, User, utcnow
from appliance.models.reports import (BUCKET_MEASURES, FRT_EDGES, FRT_HIST, HOURS, ReportBucket,
                                      ReportFact)
from appliance.rules.access import Actor, can_view_reports
from appliance.rules.states import CHANNELS
from appliance.services import common, queues
from appliance.services.reports_metrics import AGE_BUCKETS, METRICS, MetricDef  # noqa: F401

__all__ = ["ReportFilter", "Figure", "Series", "Dashboard", "DrillPage", "METRICS",
           "MetricDef", "AGE_BUCKETS", "parse_filter", "site_today", "dashboard", "drill_down",
           "scoped", "FRT_EDGES", "FRT_HIST", "MAX_PER_PAGE"]

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class ReportFilter:
    date_from: dt.date            # inclusive days in the site time zone
    date_to: dt.date
    department_id: int | None = None
    channel: str | None = None
    agent_id: int | None = None
    category_id: int | None = None


@dataclass(frozen=True)
class Figure:
    key: str
    value: float | None           # None: nothing to divide by
    unit: str                     # seconds | percent | count | score
    numerator: float
    denominator: float


@dataclass(frozen=True)
class Series:
    key: str
    labels: list[str]
    values: list[float | int]
    buckets: list[str] = field(default_factory=list)   # drill_down's `bucket` per label


@dataclass(frozen=True)
class Dashboard:
    filter: ReportFilter
    figures: list[Figure]
    series: list[Series]
    computed_at: dt.datetime
    empty: bool

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def one_series(self, key: str) -> Series:
        return next(s for s in self.series if s.key == key)


@dataclass(frozen=True)
class DrillPage:
    metric: str
    bucket: str | None
    items: list[dto.TicketSummary]
    ticket_ids: list[int]
    total: int
    page: int
    per_page: int
    pages: int


# --------------------------------------------------------------------------- input

def site_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the site's time zone (settings.timezone): the default end of a range."""
    from appliance.services.reports_facts import local
    from appliance.services.reports_refresh import zone
    return local(now or utcnow(), zone()).date()


def _date(raw: Mapping[str, str], name: str, errors: dict) -> dt.date | None:
    value = (raw.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[name] = "must be a date YYYY-MM-DD"
        return None


def _id(raw: Mapping[str, str], name: str, model, errors: dict, where=None) -> int | None:
    value = (raw.get(name) or "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) >= 2**31:
        errors[name] = "must be an id"
        return None
    q = model.select(model.id).where(model.id == int(value))
    if not (q.where(where) if where is not None else q).exists():
        errors[name] = "does not exist"
    return int(value)


def parse_filter(raw: Mapping[str, str], today: dt.date) -> ReportFilter:
    """The filter from query parameters from, to (ISO days), department, channel, agent,
    category; the last DEFAULT_DAYS days up to `today` by default."""
    errors: dict[str, str] = {}
    first, last = _date(raw, "from", errors), _date(raw, "to", errors)
    channel = (raw.get("channel") or "").strip() or None
    if channel is not None and channel not in CHANNELS:
        errors["channel"] = "must be one of: " + ", ".join(CHANNELS)
    flt = {"department_id": _id(raw, "department", Department, errors),
           "agent_id": _id(raw, "agent", User, errors, User.role.in_(("agent", "supervisor",
                                                                           "admin"))),
           "category_id": _id(raw, "category", Category, errors)}
    if not errors:
        last = last or today
        first = first or last - dt.timedelta(days=DEFAULT_DAYS - 1)
        if last < first:
            errors["to"] = "must not be before the start date"
        elif (last - first).days + 1 > MAX_DAYS:
            errors["from"] = f"the range may span at most {MAX_DAYS} days"
    if errors:
        raise ValidationError(errors)
    return ReportFilter(first, last, channel=channel, **flt)


def scoped(actor: Actor, flt: ReportFilter) -> ReportFilter:
    """The filter narrowed to what `actor` may see (module docstring)."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    if actor.can("ticket.view_all"):
        return flt
    if can_view_reports(actor):
        own = actor.department_id if actor.department_id is not None else -1
        if flt.department_id not in (None, own):
            raise PermissionDenied("you may see the reports of your own department only")
        return dataclasses.replace(flt, department_id=own)
    if flt.agent_id not in (None, actor.user_id):
        raise PermissionDenied("agents see their own figures only")
    return dataclasses.replace(flt, agent_id=actor.user_id)


# --------------------------------------------------------------------------- dashboard

def _bucket_where(flt: ReportFilter, by_category: bool = False):
    """Buckets of the range and filters, from the smallest grain that holds every
    filtered dimension: (day, department, channel) "d", plus category "c", plus agent "f"."""
    grain = "f" if flt.agent_id is not None else (
        "c" if flt.category_id is not None or by_category else "d")
    cond = ((ReportBucket.grain == grain)
            & (ReportBucket.day >= flt.date_from) & (ReportBucket.day <= flt.date_to))
    for column, value in (("department_id", flt.department_id), ("channel", flt.channel),
                          ("agent_id", flt.agent_id), ("category_id", flt.category_id)):
        if value is not None:
            cond &= getattr(ReportBucket, column) == value
    return cond


def fact_dims(flt: ReportFilter, cond):
    """`cond` narrowed to the filter's dimensions on facts."""
    for column, value in (("department_id", flt.department_id), ("channel", flt.channel),
                          ("agent_id", flt.agent_id), ("category_id", flt.category_id)):
        if value is not None:
            cond &= getattr(ReportFact, column) == value
    return cond


def totals(flt: ReportFilter) -> dict[str, float]:
    row = (ReportBucket.select(*[fn.SUM(getattr(ReportBucket, m)).alias(m)
                                 for m in BUCKET_MEASURES])
           .where(_bucket_where(flt)).dicts().get())
    return {m: int(row[m] or 0) for m in BUCKET_MEASURES}   # PostgreSQL: numeric sums


def _grouped(flt: ReportFilter, column: str) -> dict:
    """Tickets created per value of `column` (categories: grains "c" and "f" only)."""
    col = getattr(ReportBucket, column)
    rows = (ReportBucket.select(col, fn.SUM(ReportBucket.created))
            .where(_bucket_where(flt, by_category=column == "category_id"))
            .group_by(col).tuples())
    return {k: int(v or 0) for k, v in rows if v}


def backlog(flt: ReportFilter, now: dt.datetime) -> dict[str, int]:
    """Open tickets now by age (AGE_BUCKETS), within the filter's dimensions."""
    whens = [(ReportFact.opened_at > now - dt.timedelta(days=days), key)
             for key, days in AGE_BUCKETS if days is not None]
    age = Case(None, whens, AGE_BUCKETS[-1][0])
    rows = (ReportFact.select(age.alias("age"), fn.COUNT(SQL("*")))
            .where(fact_dims(flt, ReportFact.is_open == True))  # noqa: E712
            .group_by(age).tuples())
    counts = dict(rows)
    return {key: int(counts.get(key, 0)) for key, _ in AGE_BUCKETS}


def dashboard(actor: Actor, flt: ReportFilter, *, now: dt.datetime | None = None) -> Dashboard:
    flt = scoped(actor, flt)
    now = now or utcnow()
    t = totals(flt)
    ages = backlog(flt, now)
    from appliance.services import reports_figures as figures
    series = [figures.by_day(flt, _grouped(flt, "day")),
              figures.named("volume_by_channel", _grouped(flt, "channel"), None),
              figures.named("volume_by_department", _grouped(flt, "department_id"), Department),
              figures.named("volume_by_category", _grouped(flt, "category_id"), Category),
              Series("volume_by_hour", [h[1:] for h in HOURS], [int(t[h]) for h in HOURS],
                     [str(i) for i in range(24)]),
              Series("backlog_by_age", [k for k, _ in AGE_BUCKETS], list(ages.values()),
                     [k for k, _ in AGE_BUCKETS])]
    figs = figures.figures(t, sum(ages.values()))
    empty = not (t["created"] or t["resolved"] or t["csat_sent"] or t["nps_sent"]
                 or sum(ages.values()))
    return Dashboard(flt, figs, series, now, empty)


def drill_down(actor: Actor, flt: ReportFilter, metric: str, bucket: str | None,
               page: int = 1, per_page: int = 50) -> DrillPage:
    """The tickets behind a figure or a bar, newest first, that `actor` may open."""
    from appliance.services import reports_drill
    flt = scoped(actor, flt)
    where = reports_drill.condition(flt, metric, bucket, lambda cond: fact_dims(flt, cond))
    if not isinstance(page, int) or page < 1:
        raise ValidationError({"page": "must be a whole number from 1"})
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError({"per_page": f"must be between 1 and {MAX_PER_PAGE}"})
    where &= ReportFact.ticket_id.is_null(False)
    if actor.is_admin:   # sees every ticket (queues._scope): page the facts themselves
        facts = ReportFact.select(ReportFact.ticket_id).where(where)
        if METRICS[metric].side in ("csat", "nps"):   # a ticket may have several surveys
            facts = facts.distinct()
        total = facts.count()
        ids = [i for (i,) in facts.order_by(ReportFact.ticket_id.desc())
               .paginate(page, per_page).tuples()]
        by_id = {t.id: t for t in Ticket.select().where(Ticket.id.in_(ids))}
        rows = [by_id[i] for i in ids if i in by_id]
    else:
        q = queues._scope(actor, Ticket.select()).where(
            Ticket.id.in_(ReportFact.select(ReportFact.ticket_id).where(where)))
        total = q.count()
        rows = list(q.order_by(Ticket.id.desc()).paginate(page, per_page))
    return DrillPage(metric, bucket, common.summaries(rows), [r.id for r in rows], total, page,
                     per_page, max(1, -(-total // per_page)))
