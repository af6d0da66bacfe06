"""Full-text search over tickets: the index narrows, the domain decides what the caller sees."""
from __future__ import annotations

from flask import current_app, g

from appliance.rules import states
from appliance.services import search
from webapp.api import api_bp
from webapp.api.payload import query_datetime, query_int, query_list, query_text, reply

MAX_OFFSET = 10_000


@api_bp.get("/search")
def search_tickets():
    department = query_int("department_id")
    results, total = search.search_tickets(
        g.actor, query_text("q", "", max_len=500), current_app.config["GONGDAN"],
        statuses=query_list("status", states.STATUSES),
        department_ids=[department] if department else [],
        created_from=query_datetime("created_from"), created_to=query_datetime("created_to"),
        limit=query_int("limit", 20, 1, 100), offset=query_int("offset", 0, 0, MAX_OFFSET))
    return reply({"items": results, "total": total})
