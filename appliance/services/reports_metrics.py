"""Every figure and series of the reports dashboard, defined once: label, unit, formula
(the text docs/metrics.md and the page show) and which facts stand behind it (for the
drill-down). Texts are plain English msgids; the web layer translates them
(webapp/api/reports_dashboard.py lists them for extraction; a test keeps both in step).
"""
from __future__ import annotations

from dataclasses import dataclass


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; translated where it is shown."""
    return msgid


@dataclass(frozen=True)
class MetricDef:
    key: str
    label: str          # msgid
    unit: str           # seconds | percent | count | score
    formula: str        # msgid
    side: str           # created | resolved | open | csat | nps: the facts it counts
    base: str = ""      # fact measure > 0 that puts a ticket in the denominator
    numerator: str = ""  # fact measure > 0 that puts a ticket in the numerator
    kind: str = "figure"  # figure | series


def _m(key, label, unit, formula, side, base="", numerator="", kind="figure") -> MetricDef:
    return MetricDef(key, label, unit, formula, side, base, numerator, kind)


# Open tickets by age: key, upper bound in days (None: older).
AGE_BUCKETS = (("<1d", 1), ("1-3d", 3), ("3-7d", 7), ("7-14d", 14), ("14-30d", 30),
               (">30d", None))

_LIST = [
    _m("volume", N_("Tickets created"), "count",
       N_("Tickets created in the range (merged duplicates included)."), "created"),
    _m("resolved", N_("Tickets resolved"), "count",
       N_("Tickets whose current resolution falls in the range, merged duplicates left out."),
       "resolved", "resolved"),
    _m("first_response_mean", N_("First response time (mean)"), "seconds",
       N_("Mean of first response − created over tickets created in the range that have a "
          "first response."), "created", "frt_n"),
    _m("first_response_median", N_("First response time (median)"), "seconds",
       N_("Upper edge of the histogram bin holding the median first response time (bins: "
          "5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 1 d, 2 d, 7 d, more; the last bin "
          "reports its lower edge)."), "created", "frt_n"),
    _m("first_response_p90", N_("First response time (90th percentile)"), "seconds",
       N_("As the median, for the 90th percentile."), "created", "frt_n"),
    _m("aht", N_("Average handle time"), "seconds",
       N_("Mean of resolved − (assigned or else created) over tickets resolved in the range; "
          "assigned is the current assignment (as the agents' efficiency figures)."),
       "resolved", "resolved"),
    _m("fcr", N_("First contact resolution"), "percent",
       N_("Resolved tickets in the range on which the customer wrote no public message after "
          "the first public agent reply and that were never reopened ÷ tickets resolved in "
          "the range."), "resolved", "resolved", "fcr"),
    _m("reopen_rate", N_("Reopen rate"), "percent",
       N_("Tickets resolved in the range that were reopened at least once ÷ tickets resolved "
          "in the range."), "resolved", "resolved", "reopened"),
    _m("csat", N_("Customer satisfaction (CSAT)"), "percent",
       N_("Answers of 4 or 5 ÷ answers, over CSAT surveys sent in the range; a survey counts "
          "for the department, agent and category of its resolution."), "csat", "csat_answered",
       "csat_good"),
    _m("csat_response_rate", N_("Survey response rate"), "percent",
       N_("CSAT surveys answered ÷ CSAT surveys sent in the range."), "csat", "csat_sent",
       "csat_answered"),
    _m("nps", N_("Net promoter score (NPS)"), "score",
       N_("(Promoters (9-10) − detractors (0-6)) × 100 ÷ answers, over NPS surveys sent in the "
          "range (-100 to 100)."), "nps", "nps_answered"),
    _m("sla_compliance", N_("SLA compliance"), "percent",
       N_("Tickets resolved in the range with an SLA policy and no clock ever breached ÷ "
          "tickets resolved in the range with an SLA policy."), "resolved", "sla_n", "sla_met"),
    _m("backlog", N_("Open backlog"), "count",
       N_("Tickets open now (not merged), whatever the date range."), "open"),
    _m("kb_coverage", N_("Knowledge coverage"), "percent",
       N_("Tickets resolved in the range linked to a published or archived article ÷ tickets "
          "resolved in the range (as the knowledge metrics)."), "resolved", "resolved",
       "kb_linked"),
    _m("kb_reuse", N_("Knowledge reuse"), "count",
       N_("Article links and snippets inserted into tickets resolved in the range."),
       "resolved", "kb_inserted"),
    _m("time_to_assign", N_("Time to assign"), "seconds",
       N_("Mean of first assignment − created over tickets created in the range that were "
          "assigned."), "created", "assign_n"),
    _m("reassignments", N_("Reassignments"), "count",
       N_("Assignments after the first, over tickets created in the range."), "created",
       "reassigns"),
    _m("ai_accuracy", N_("AI triage accuracy"), "percent",
       N_("Routing fields (department, category, priority, urgency) suggested by the latest "
          "AI triage run that the ticket still holds ÷ fields suggested, over tickets created "
          "in the range."), "created", "ai_suggested"),
    _m("ai_corrected", N_("AI suggestions corrected"), "count",
       N_("Routing fields suggested by the latest AI triage run that the ticket no longer "
          "holds (a person chose otherwise or undid the change), over tickets created in the "
          "range."), "created", "ai_suggested"),
    _m("volume_by_day", N_("Tickets created by day"), "count",
       N_("Tickets created on each day of the range."), "created", kind="series"),
    _m("volume_by_channel", N_("Tickets created by channel"), "count",
       N_("Tickets created in the range per channel."), "created", kind="series"),
    _m("volume_by_department", N_("Tickets created by department"), "count",
       N_("Tickets created in the range per current department."), "created", kind="series"),
    _m("volume_by_category", N_("Tickets created by category"), "count",
       N_("Tickets created in the range per current category."), "created", kind="series"),
    _m("volume_by_hour", N_("Tickets created by hour of day"), "count",
       N_("Tickets created in the range per hour of the day, site time zone."), "created",
       kind="series"),
    _m("backlog_by_age", N_("Open backlog by age"), "count",
       N_("Tickets open now per time since creation."), "open", kind="series"),
]
METRICS: dict[str, MetricDef] = {m.key: m for m in _LIST}
