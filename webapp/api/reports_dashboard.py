"""API: the reports dashboard (services.reports; docs/metrics.md) at
GET /api/v1/reports/dashboard and the tickets behind a figure at
GET /api/v1/reports/dashboard/tickets. Same filters as the page: from, to (ISO days in the
site time zone), department, channel, agent, category; errors are the API's problem JSON
naming the field."""
from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l

from appliance import dto
from appliance.errors import ValidationError
from appliance.services import reports
from webapp.api import api_bp
from webapp.api.payload import reply

# Every metric's label and formula as msgids (services.reports_metrics holds the same
# English texts; tests/unit/test_report_metrics.py keeps the two in step).
TEXTS = {
    'volume': (
        _l('Tickets created'),
        _l('Tickets created in the range (merged duplicates included).')),
    'resolved': (
        _l('Tickets resolved'),
        _l('Tickets whose current resolution falls in the range, merged '
           'duplicates left out.')),
    'first_response_mean': (
        _l('First response time (mean)'),
        _l('Mean of first response − created over tickets created in the range '
           'that have a first response.')),
    'first_response_median': (
        _l('First response time (median)'),
        _l('Upper edge of the histogram bin holding the median first response '
           'time (bins: 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 1 d, 2 d, 7 d,'
           ' more; the last bin reports its lower edge).')),
    'first_response_p90': (
        _l('First response time (90th percentile)'),
        _l('As the median, for the 90th percentile.')),
    'aht': (
        _l('Average handle time'),
        _l('Mean of resolved − (assigned or else created) over tickets resolved '
           "in the range; assigned is the current assignment (as the agents' "
           'efficiency figures).')),
    'fcr': (
        _l('First contact resolution'),
        _l('Resolved tickets in the range on which the customer wrote no public '
           'message after the first public agent reply and that were never '
           'reopened ÷ tickets resolved in the range.')),
    'reopen_rate': (
        _l('Reopen rate'),
        _l('Tickets resolved in the range that were reopened at least once ÷ '
           'tickets resolved in the range.')),
    'csat': (
        _l('Customer satisfaction (CSAT)'),
        _l('Answers of 4 or 5 ÷ answers, over CSAT surveys sent in the range; a '
           'survey counts for the department, agent and category of its '
           'resolution.')),
    'csat_response_rate': (
        _l('Survey response rate'),
        _l('CSAT surveys answered ÷ CSAT surveys sent in the range.')),
    'nps': (
        _l('Net promoter score (NPS)'),
        _l('(Promoters (9-10) − detractors (0-6)) × 100 ÷ answers, over NPS '
           'surveys sent in the range (-100 to 100).')),
    'sla_compliance': (
        _l('SLA compliance'),
        _l('Tickets resolved in the range with an SLA policy and no clock ever '
           'breached ÷ tickets resolved in the range with an SLA policy.')),
    'backlog': (
        _l('Open backlog'),
        _l('Tickets open now (not merged), whatever the date range.')),
    'kb_coverage': (
        _l('Knowledge coverage'),
        _l('Tickets resolved in the range linked to a published or archived '
           'article ÷ tickets resolved in the range (as the knowledge metrics).')),
    'kb_reuse': (
        _l('Knowledge reuse'),
        _l('Article links and snippets inserted into tickets resolved in the '
           'range.')),
    'time_to_assign': (
        _l('Time to assign'),
        _l('Mean of first assignment − created over tickets created in the range '
           'that were assigned.')),
    'reassignments': (
        _l('Reassignments'),
        _l('Assignments after the first, over tickets created in the range.')),
    'ai_accuracy': (
        _l('AI triage accuracy'),
        _l('Routing fields (department, category, priority, urgency) suggested by'
           ' the latest AI triage run that the ticket still holds ÷ fields '
           'suggested, over tickets created in the range.')),
    'ai_corrected': (
        _l('AI suggestions corrected'),
        _l('Routing fields suggested by the latest AI triage run that the ticket '
           'no longer holds (a person chose otherwise or undid the change), over '
           'tickets created in the range.')),
    'volume_by_day': (
        _l('Tickets created by day'),
        _l('Tickets created on each day of the range.')),
    'volume_by_channel': (
        _l('Tickets created by channel'),
        _l('Tickets created in the range per channel.')),
    'volume_by_department': (
        _l('Tickets created by department'),
        _l('Tickets created in the range per current department.')),
    'volume_by_category': (
        _l('Tickets created by category'),
        _l('Tickets created in the range per current category.')),
    'volume_by_hour': (
        _l('Tickets created by hour of day'),
        _l('Tickets created in the range per hour of the day, site time zone.')),
    'backlog_by_age': (
        _l('Open backlog by age'),
        _l('Tickets open now per time since creation.')),
}


def metric_texts() -> dict:
    """key -> label, unit, formula in the reader's language (for the page and the API)."""
    return {k: {"label": str(TEXTS[k][0]), "unit": m.unit, "formula": str(TEXTS[k][1]),
                 "kind": m.kind} for k, m in reports.METRICS.items()}


def _filter():
    return reports.parse_filter(request.args, reports.site_today())


@api_bp.get("/reports/dashboard")
def reports_dashboard():
    board = reports.dashboard(g.actor, _filter())
    return reply({**dto.as_dict(board), "metrics": metric_texts()})


def _int(name: str, default: int) -> int:
    value = (request.args.get(name) or "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise ValidationError({name: "must be a whole number"})
    return int(value)


@api_bp.get("/reports/dashboard/tickets")
def reports_dashboard_tickets():
    flt = _filter()
    page = reports.drill_down(g.actor, flt, request.args.get("metric") or "",
                              request.args.get("bucket") or None, _int("page", 1),
                              _int("per_page", 50))
    return reply(dto.as_dict(page))
