"""OpenAPI paths and schemas of webapp/api/reports.py (merged by webapp/api/openapi.py)."""
from __future__ import annotations

from appliance.services import csat_report
from webapp.api.openapi_parts import json_response, operation
from webapp.api.openapi_schemas import BOOL, ID, TEXT, TIME, array, nullable, obj, ref

TAG = "reports"
COUNT = {"type": "integer", "minimum": 0}
DATE = {"type": "string", "format": "date"}
SHARE = nullable({"type": "number", "minimum": 0, "maximum": 1})


def _query(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": DATE,
            "description": description}


SCHEMAS = {
    "CsatFigures": obj({
        "key": TEXT, "sent": COUNT, "answered": COUNT, "response_rate": SHARE,
        "average": nullable({"type": "number", "minimum": 1, "maximum": 5}), "csat": SHARE},
        description="sent: surveys created in the range (one per resolution); response_rate: "
                    "answered / sent; average: mean score 1-5; csat: answers of 4 or 5 / "
                    "answers. Null where there is nothing to divide by."),
    "CsatComment": obj({"ticket_id": ID, "ticket_number": TEXT,
                        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                        "comment": TEXT, "answered_at": TIME}),
    "NpsFigures": obj({
        "sent": COUNT, "answered": COUNT, "promoters": COUNT, "passives": COUNT,
        "detractors": COUNT, "score": nullable({"type": "number", "minimum": -100, "maximum": 100})},
        description="NPS surveys sent in the range; score: % promoters (9-10) minus % "
                    "detractors (0-6) among the answers, null without answers."),
    "CsatReport": obj({
        "start": DATE, "end": DATE, "empty": BOOL, "overall": ref("CsatFigures"),
        "nps": ref("NpsFigures"),
        "by_agent": array(ref("CsatFigures")), "by_team": array(ref("CsatFigures")),
        "by_category": array(ref("CsatFigures")), "by_department": array(ref("CsatFigures")),
        "comments": array(ref("CsatComment"),
                          description="Customers' comments, only on tickets the caller may "
                                      f"open, newest first, at most {csat_report.COMMENTS_SHOWN}.")}),
}

PATHS = {
    "/reports/csat": {
        "get": operation(
            "csatReport", TAG, "Customer satisfaction (supervisors: their department; "
            "administrators: all)", json_response(200, "CsatReport", "The figures"), (400, 403),
            [_query("start", f"First day (default: {csat_report.DEFAULT_DAYS} days before end)"),
             _query("end", "Last day, inclusive (default: today, UTC); not before start")])},
}
