"""AI triage of one ticket: what AI suggested and changed (with versions), and undo.

Staff only (the service refuses customers). Undo without a run_id undoes every run
that still has changes to put back, like the ticket page's one-click button.
"""
from __future__ import annotations

from flask import g

from appliance.services import triage
from webapp.api import api_bp
from webapp.api.payload import ID_RULE, identifier, json_body, reply


@api_bp.get(f"/tickets/<{ID_RULE}:ticket_id>/triage")
def get_triage(ticket_id: int):
    return reply(triage.triage_view(g.actor, ticket_id))


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/triage/undo")
def undo_triage(ticket_id: int):
    values = json_body({"run_id": identifier})
    if "run_id" in values:
        run_ids = [values["run_id"]]
    else:
        run_ids = [r.id for r in triage.triage_view(g.actor, ticket_id).runs if r.can_undo]
    reverted = triage.undo_triage_runs(g.actor, ticket_id, run_ids)
    return reply({"reverted": reverted, "triage": triage.triage_view(g.actor, ticket_id)})
