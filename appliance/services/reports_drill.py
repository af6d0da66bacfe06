"""Which facts stand behind a figure or a bar of the dashboard (reports.drill_down): the
metric's side (tickets created, resolved, open, or surveyed in the range), its
denominator, and with bucket "numerator" its numerator, or a series' bar."""
from __future__ import annotations

import datetime as dt

from appliance.errors import ValidationError
from appliance.models import utcnow
from appliance.models.reports import ReportFact
from appliance.services.reports_metrics import AGE_BUCKETS, METRICS

SERIES_COLUMNS = {"volume_by_channel": "channel", "volume_by_department": "department_id",
                  "volume_by_category": "category_id", "volume_by_hour": "hour"}


def condition(flt, metric: str, bucket: str | None, dims):
    """`dims(cond)` narrows a condition to the filter's dimensions."""
    m = METRICS.get(metric)
    if m is None:
        raise ValidationError({"metric": "must be one of: " + ", ".join(METRICS)})
    if m.side == "open":
        cond = dims(ReportFact.is_open == True)  # noqa: E712
    elif m.side in ("csat", "nps"):
        cond = dims((ReportFact.kind == "survey") & _in_range(ReportFact.day, flt)
                    & (getattr(ReportFact, f"{m.side}_sent") > 0))
    else:
        day = ReportFact.day if m.side == "created" else ReportFact.rday
        cond = dims((ReportFact.kind == "ticket") & _in_range(day, flt))
    if m.base:
        cond &= getattr(ReportFact, m.base) > 0
    if bucket in (None, ""):
        return cond
    if bucket == "numerator" and m.numerator:
        return cond & (getattr(ReportFact, m.numerator) > 0)
    return cond & _bucket(metric, bucket)


def _in_range(day, flt):
    return (day >= flt.date_from) & (day <= flt.date_to)


def _bucket(metric: str, bucket: str):
    bad = ValidationError({"bucket": "is not a bar of this figure"})
    if metric == "volume_by_day":
        try:
            return ReportFact.day == dt.date.fromisoformat(bucket)
        except ValueError:
            raise bad from None
    if metric == "backlog_by_age":
        return _age(bucket, bad)
    column = SERIES_COLUMNS.get(metric)
    if column is None:
        raise bad
    if column == "channel":
        return ReportFact.channel == bucket
    if not (bucket.isascii() and bucket.isdigit()) or int(bucket) >= 2**31:
        raise bad
    return getattr(ReportFact, column) == int(bucket)


def _age(bucket: str, bad):
    keys = [k for k, _ in AGE_BUCKETS]
    if bucket not in keys:
        raise bad
    now = utcnow()
    i = keys.index(bucket)
    upper = AGE_BUCKETS[i][1]
    lower = AGE_BUCKETS[i - 1][1] if i else 0
    cond = ReportFact.opened_at.is_null(False)
    if i:
        cond &= ReportFact.opened_at <= now - dt.timedelta(days=lower)
    if upper is not None:
        cond &= ReportFact.opened_at > now - dt.timedelta(days=upper)
    return cond
