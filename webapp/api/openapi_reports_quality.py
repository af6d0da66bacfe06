"""OpenAPI paths and schemas of webapp/api/reports_quality.py (merged by webapp/api/openapi.py)."""
from __future__ import annotations

from appliance.services import follow_up_report, quality_report
from webapp.api.openapi_parts import json_response, operation
from webapp.api.openapi_schemas import ID, TEXT, array, nullable, obj, ref

TAG = "reports"
COUNT = {"type": "integer", "minimum": 0}
DATE = {"type": "string", "format": "date"}
SCORE = {"type": "number", "minimum": 0, "maximum": 100}
NAMED = obj({"id": ID, "name": TEXT})


def _query(name: str, description: str, schema: dict = DATE) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _outcomes(**extra) -> dict:
    counts = {kind: COUNT for kind in follow_up_report.KINDS}
    return obj({**extra, **counts, "total": COUNT})


SCHEMAS = {
    "FollowUpOutcomes": _outcomes(),
    "FollowUpReport": obj({
        "start": DATE, "end": DATE, "department_id": nullable(ID),
        "scheduled": {**COUNT, "description": "Visits still to call, due in the range"},
        "totals": ref("FollowUpOutcomes"),
        "by_agent": array(_outcomes(agent=NAMED), description="Who made the last call"),
        "by_department": array(_outcomes(department=NAMED))},
        description="Visits closed or cancelled in the range (UTC days of closing), by "
                    "outcome: satisfied, not_solved, unreachable as recorded; cancelled when "
                    "the ticket was reopened before the call."),
    "QualityReport": obj({
        "start": DATE, "end": DATE,
        "agents": array(obj({"agent": NAMED, "inspections": COUNT, "average": SCORE}),
                        description="Over the whole range, lowest average first"),
        "weeks": array(obj({"agent": NAMED, "week": {**DATE, "description": "The Monday"},
                            "inspections": COUNT, "average": SCORE, "lowest": SCORE,
                            "provisional": {**COUNT, "description":
                                            "Inspections still waiting for the model's rubric"}}),
                       description="Per agent (by name) and ISO week (UTC)")},
        description="Average final score (a supervisor's adjustment where there is one, else "
                    "the automatic score) of the inspected public replies."),
}

_DEPARTMENT = _query("department_id", "Only this department (supervisors: their own)", ID)
PATHS = {
    "/reports/follow-ups": {
        "get": operation(
            "followUpReport", TAG, "Follow-up visit outcomes (supervisors: their department; "
            "administrators: all)", json_response(200, "FollowUpReport", "The counts"),
            (400, 403),
            [_query("start", f"First day (default: {follow_up_report.DEFAULT_DAYS - 1} days before end)"),
             _query("end", "Last day, inclusive (default: today, UTC); at most "
                           f"{follow_up_report.MAX_DAYS} days after start"), _DEPARTMENT])},
    "/reports/quality": {
        "get": operation(
            "qualityReport", TAG, "Quality-inspection scores per agent and week (agents: their "
            "own; supervisors: their department; administrators: all)",
            json_response(200, "QualityReport", "The scores"), (400, 403, 404),
            [_query("start", f"First day (default: {quality_report.DEFAULT_DAYS - 1} days "
                             "before end)"),
             _query("end", "Last day, inclusive (default: today, UTC)"), _DEPARTMENT,
             _query("agent_id", "Only this agent (agents: themselves)", ID)])},
}
