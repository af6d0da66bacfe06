"""API: supervisor board, reassignment, routing decisions.

The board and reassignment are for supervisors and administrators; a ticket's routing is
for staff who may see the ticket (runners-up only for supervisors and administrators).
A reassignment answers with the ticket's routing only while the caller may still see the
ticket (a supervisor may have seen it only as its assignee).
Each decision comes with `sentence`, the explanation in the caller's language
(Accept-Language), next to the facts it was written from.
"""
from __future__ import annotations

from flask import g

from appliance import dto
from appliance.services import dispatch_actions, dispatch_board
from webapp import routing_text
from webapp.api import api_bp
from webapp.api.payload import ID_RULE, identifier, json_body, nullable, reply, text, to_json


def decision_json(d: dispatch_board.DecisionView) -> dict:
    return {**dto.as_dict(d), "sentence": routing_text.decision_text(d)}


def board_json(b: dispatch_board.Board) -> dict:
    queues = []
    for q in b.queues:
        data = dto.as_dict(q)
        for row, w in zip(data["tickets"], q.tickets):
            row["reason_text"] = routing_text.queue_reason(w.reason)
        queues.append(data)
    return {"agents": [dto.as_dict(a) for a in b.agents], "queues": queues,
            "decisions": [decision_json(d) for d in b.decisions],
            "generated_at": to_json(b.generated_at)}


def routing_json(r: dispatch_board.TicketRouting) -> dict:
    waiting = None
    if r.waiting is not None:
        waiting = {**dto.as_dict(r.waiting),
                   "reason_text": routing_text.queue_reason(r.waiting.reason)}
    return {"ticket_id": r.ticket_id, "number": r.number,
            "assignee": dto.as_dict(r.assignee) if r.assignee else None,
            "waiting": waiting, "decisions": [decision_json(d) for d in r.decisions]}


@api_bp.get("/supervisor/board")
def supervisor_board():
    return reply(board_json(dispatch_board.board(g.actor)))


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/reassign")
def reassign_ticket(ticket_id: int):
    values = json_body({"user_id": nullable(identifier), "note": text(500)},
                       required=("user_id",))
    dispatch_actions.reassign(g.actor, ticket_id, values["user_id"], values.get("note", ""))
    done = {"ticket_id": ticket_id, "assignee_id": values["user_id"]}
    if not dispatch_board.can_see_ticket(g.actor, ticket_id):
        return reply(done)  # reassigned away from a caller who saw it only as its assignee
    return reply({**done, **routing_json(dispatch_board.ticket_routing(g.actor, ticket_id))})


@api_bp.get(f"/tickets/<{ID_RULE}:ticket_id>/routing")
def ticket_routing(ticket_id: int):
    return reply(routing_json(dispatch_board.ticket_routing(g.actor, ticket_id)))
