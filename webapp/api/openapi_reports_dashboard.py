"""OpenAPI paths and schemas of webapp/api/reports_dashboard.py (merged by
webapp/api/openapi.py)."""
from __future__ import annotations

from appliance.rules.states import CHANNELS
from appliance.services import reports
from webapp.api.openapi_parts import json_response, operation
from webapp.api.openapi_schemas import BOOL, TEXT, TIME, array, nullable, obj, ref

TAG = "reports"
DATE = {"type": "string", "format": "date"}
NUMBER = {"type": "number"}
COUNT = {"type": "integer", "minimum": 0}
ID_OR_NULL = nullable({"type": "integer"})
FILTER_PARAMS = [
    {"name": "from", "in": "query", "required": False, "schema": DATE,
     "description": f"First day, site time zone (default: {reports.DEFAULT_DAYS} days before to)"},
    {"name": "to", "in": "query", "required": False, "schema": DATE,
     "description": "Last day, inclusive (default: today); not before from; at most "
                    f"{reports.MAX_DAYS} days after it"},
    {"name": "department", "in": "query", "required": False, "schema": {"type": "integer"},
     "description": "A department id"},
    {"name": "channel", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(CHANNELS)}},
    {"name": "agent", "in": "query", "required": False, "schema": {"type": "integer"},
     "description": "A staff member's id (agents: only their own)"},
    {"name": "category", "in": "query", "required": False, "schema": {"type": "integer"},
     "description": "A category id"},
]

SCHEMAS = {
    "ReportFilter": obj({"date_from": DATE, "date_to": DATE, "department_id": ID_OR_NULL,
                         "channel": nullable(TEXT), "agent_id": ID_OR_NULL,
                         "category_id": ID_OR_NULL}),
    "ReportFigure": obj({"key": TEXT, "value": nullable(NUMBER),
                         "unit": {"type": "string",
                                  "enum": ["seconds", "percent", "count", "score"]},
                         "numerator": NUMBER, "denominator": NUMBER},
                        description="value is null where the denominator is 0; docs/metrics.md "
                                    "defines every key"),
    "ReportSeries": obj({"key": TEXT, "labels": array(TEXT), "values": array(NUMBER),
                         "buckets": array(TEXT, description="drill-down bucket per label")}),
    "ReportMetric": obj({"label": TEXT, "unit": TEXT, "formula": TEXT, "kind": TEXT}),
    "ReportDashboard": obj({
        "filter": ref("ReportFilter"), "figures": array(ref("ReportFigure")),
        "series": array(ref("ReportSeries")), "computed_at": TIME, "empty": BOOL,
        "metrics": {"type": "object", "additionalProperties": ref("ReportMetric"),
                    "description": "Every figure's label, unit and formula, translated"}}),
    "ReportDrillPage": obj({
        "metric": TEXT, "bucket": nullable(TEXT), "items": array(ref("Ticket")),
        "ticket_ids": array({"type": "integer"}), "total": COUNT,
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1}}),
}

PATHS = {
    "/reports/dashboard": {
        "get": operation(
            "reportsDashboard", TAG, "Reports dashboard figures and series (administrators: "
            "all; supervisors: their department; agents: their own figures)",
            json_response(200, "ReportDashboard", "The figures"), (400, 403), FILTER_PARAMS)},
    "/reports/dashboard/tickets": {
        "get": operation(
            "reportsDashboardTickets", TAG, "The tickets behind a figure or a bar, newest first, "
            "that the caller may open",
            json_response(200, "ReportDrillPage", "One page of tickets"), (400, 403),
            FILTER_PARAMS + [
                {"name": "metric", "in": "query", "required": True,
                 "schema": {"type": "string", "enum": list(reports.METRICS)}},
                {"name": "bucket", "in": "query", "required": False, "schema": TEXT,
                 "description": "A series' bucket, or 'numerator' for a ratio's numerator"},
                {"name": "page", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1}},
                {"name": "per_page", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1,
                            "maximum": reports.MAX_PER_PAGE}}])},
}
