"""API: satisfaction results (supervisors: their department; administrators: all), the
figures of the agent page /agent/reports/csat (services.csat_report)."""
from __future__ import annotations

from flask import g, request

from appliance import dto
from appliance.services import csat_report
from webapp.api import api_bp
from webapp.api.payload import reply


@api_bp.get("/reports/csat")
def reports_csat():
    report = csat_report.results(g.actor, request.args.get("start"), request.args.get("end"))
    return reply({**dto.as_dict(report), "empty": report.empty})
