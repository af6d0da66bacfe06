"""Report aggregates (migration 0024, docs/decisions/0040-report-aggregates.md).

A cache of the ticket tables, never a source: `gongdan reports rebuild` recreates all of it.

- ReportFact: one row per ticket (kind "ticket") and per satisfaction survey (kind
  "survey"), its dimensions and its contribution to every figure, computed from the raw
  rows (services.reports_facts). Measures counted on the day a ticket was created (or a
  survey sent) are keyed by `day`; those counted on the day it was resolved by `rday`.
- ReportBucket: sums of the facts per (day, department, channel, category, agent) (grain
  "f"), per (day, department, channel, category) ("c", agent 0) and per (day, department,
  channel) ("d", category and agent 0); the dashboard reads only these and the open facts
  (backlog). Missing dimensions are 0, never NULL, so keys compare equal.
- ReportState: the refresh watermark and lock row (one row, id 1).
"""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow

# Histogram of first-response times: upper edges in seconds (the last bin is open).
FRT_EDGES = (300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
FRT_BINS = len(FRT_EDGES) + 1

# Measures summed by the day a ticket was created / a survey was sent.
CREATED_MEASURES = ("created", "frt_n", "frt_sum", "assign_n", "assign_sum", "reassigns",
                    "ai_suggested", "ai_accepted", "csat_sent", "csat_answered", "csat_good",
                    "nps_sent", "nps_answered", "nps_promoters", "nps_detractors")
# Measures summed by the day a ticket was resolved.
RESOLVED_MEASURES = ("resolved", "aht_sum", "fcr", "reopened", "kb_linked", "kb_inserted",
                     "sla_n", "sla_met")
# Durations in whole seconds; their sums outgrow 32 bits. Integers only, so a sum never
# depends on the order it was added in and aggregates compare exactly.
BIG_MEASURES = frozenset({"frt_sum", "assign_sum", "aht_sum"})
HOURS = tuple(f"h{i:02d}" for i in range(24))
FRT_HIST = tuple(f"frt_b{i:02d}" for i in range(FRT_BINS))
# Every column of a bucket besides its key.
BUCKET_MEASURES = CREATED_MEASURES + RESOLVED_MEASURES + HOURS + FRT_HIST


def _measure(name: str) -> pw.Field:
    return pw.BigIntegerField(default=0) if name in BIG_MEASURES else pw.IntegerField(default=0)


class ReportFact(BaseModel):
    kind = pw.CharField(max_length=8)            # ticket | survey
    ref_id = pw.IntegerField()                   # the ticket's or the survey's id
    ticket_id = pw.IntegerField(null=True)       # the ticket (a survey's; NPS: none)
    department_id = pw.IntegerField(default=0)
    channel = pw.CharField(max_length=16, default="")
    category_id = pw.IntegerField(default=0)
    agent_id = pw.IntegerField(default=0)
    day = pw.DateField()                         # created (ticket) / sent (survey), site zone
    hour = pw.SmallIntegerField(default=0)       # hour of `day`, site zone
    rday = pw.DateField(null=True)               # resolved, site zone; None: not resolved
    is_open = pw.BooleanField(default=False)     # backlog: open and not merged
    opened_at = pw.DateTimeField(null=True)      # created_at (UTC) of an open ticket
    frt_bin = pw.SmallIntegerField(default=-1)   # FRT_EDGES bin; -1: no first response
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("kind", "ref_id"), True),
            (("day", "department_id", "channel", "category_id", "agent_id"), False),
            (("rday", "department_id", "channel", "category_id", "agent_id"), False),
            # backlog: covering (no row lookups for the open tickets of any filter)
            (("is_open", "department_id", "channel", "category_id", "agent_id", "opened_at"),
             False),
            (("agent_id", "day"), False),
            # drill-down: count and page a range's tickets from the index alone
            (("kind", "day", "ticket_id"), False),
            (("kind", "rday", "ticket_id"), False),
            (("ticket_id",), False),
        )


for _name in CREATED_MEASURES + RESOLVED_MEASURES:
    ReportFact._meta.add_field(_name, _measure(_name))


class ReportBucket(BaseModel):
    grain = pw.CharField(max_length=1)           # f: full key | c: no agent | d: neither
    day = pw.DateField()
    department_id = pw.IntegerField(default=0)
    channel = pw.CharField(max_length=16, default="")
    category_id = pw.IntegerField(default=0)
    agent_id = pw.IntegerField(default=0)

    class Meta:
        indexes = (
            (("grain", "day", "department_id", "channel", "category_id", "agent_id"), True),
            (("grain", "agent_id", "day"), False),
            (("grain", "category_id", "day"), False),
        )


for _name in BUCKET_MEASURES:
    ReportBucket._meta.add_field(_name, _measure(_name))


class ReportState(BaseModel):
    """Where the incremental refresh stands; its row is also the refresh lock."""
    id = pw.IntegerField(primary_key=True)
    time_zone = pw.CharField(max_length=64, default="")
    changed_since = pw.DateTimeField(null=True)  # tickets updated from here on are re-read
    last_ids = pw.JSONField(default=dict)        # table -> highest id read
    sweep_after = pw.IntegerField(default=0)     # the rolling re-check's position (ticket id)
    refreshed_at = pw.DateTimeField(null=True)
    rebuilt_at = pw.DateTimeField(null=True)
    rebuilding_since = pw.DateTimeField(null=True)   # a rebuild is running (refreshes wait)
