"""API: the follow-up visit outcome counts (回访, services.follow_up_report) and the
quality-inspection scores per agent and week (质检, services.quality_report), the figures
of /agent/reports/follow-ups and /agent/quality/summary. The services decide the scope:
follow-ups for supervisors (their department) and administrators; quality scores for an
agent (their own), a supervisor (their department) and administrators (all).

The query names are `start` and `end` as in /reports/csat; a bad one is named in the 400."""
from __future__ import annotations

from flask import g, request

from appliance.errors import ValidationError
from appliance.services import follow_up_report, quality_report
from webapp.api import api_bp
from webapp.api.payload import reply

# the services' field names -> this API's query names
_QUERY_NAMES = {"date_from": "start", "date_to": "end"}


def _renamed(exc: ValidationError) -> ValidationError:
    return ValidationError({_QUERY_NAMES.get(k, k): v for k, v in exc.fields.items()})


def _ref(ref) -> dict:
    return {"id": ref.id, "name": ref.name}


def _counts(c: follow_up_report.OutcomeCounts) -> dict:
    return {kind: getattr(c, kind) for kind in follow_up_report.KINDS} | {"total": c.total}


@api_bp.get("/reports/follow-ups")
def reports_follow_ups():
    args = request.args
    try:
        s = follow_up_report.follow_up_summary(g.actor, args.get("start"), args.get("end"),
                                               args.get("department_id") or None)
    except ValidationError as exc:
        raise _renamed(exc) from None
    return reply({
        "start": s.date_from.isoformat(), "end": s.date_to.isoformat(),
        "department_id": s.department_id, "scheduled": s.scheduled, "totals": _counts(s.totals),
        "by_agent": [{"agent": _ref(r), **_counts(c)} for r, c in s.by_agent],
        "by_department": [{"department": _ref(r), **_counts(c)} for r, c in s.by_department]})


@api_bp.get("/reports/quality")
def reports_quality():
    args = request.args
    try:
        s = quality_report.quality_summary(g.actor, args.get("start"), args.get("end"),
                                           args.get("department_id"), args.get("agent_id"))
    except ValidationError as exc:
        raise _renamed(exc) from None
    return reply({
        "start": s.date_from.isoformat(), "end": s.date_to.isoformat(),
        "agents": [{"agent": {"id": a.agent_id, "name": a.agent}, "inspections": a.inspections,
                    "average": a.average} for a in s.agents],
        "weeks": [{"agent": {"id": w.agent_id, "name": w.agent}, "week": w.week.isoformat(),
                   "inspections": w.inspections, "average": w.average, "lowest": w.lowest,
                   "provisional": w.provisional} for w in s.weeks]})
