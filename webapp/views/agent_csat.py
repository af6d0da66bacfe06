"""Satisfaction results for supervisors (their department) and administrators (all):
CSAT %, average, response rate per agent, team, category and department over a date
range, and the customers' comments on tickets the reader may open. Routes on the agent
blueprint; the same figures are at GET /api/v1/reports/csat."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from appliance.errors import ValidationError
from appliance.services import csat_report
from webapp.views.agent_common import actor, bp


@bp.get("/reports/csat")
def csat_results():
    start, end = request.args.get("start", ""), request.args.get("end", "")
    try:
        report = csat_report.results(actor(), start, end)
    except ValidationError as exc:   # after the permission check (results() scopes first)
        return render_template("agent/csat.html", report=None, errors=_messages(exc.fields),
                               start=start, end=end), 400
    return render_template("agent/csat.html", report=report, errors={},
                           start=report.start.isoformat(), end=report.end.isoformat())


def _messages(fields: dict) -> dict:
    """The service's field errors in the reader's language."""
    out = {}
    for name, message in fields.items():
        if "before the start" in message:
            out[name] = _("The end date must not be before the start date.")
        elif "at most" in message:
            out[name] = _("The range may span at most %(days)s days.", days=csat_report.MAX_DAYS)
        else:
            out[name] = _("Enter a date like 2026-01-31.")
    return out
