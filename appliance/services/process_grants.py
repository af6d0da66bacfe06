"""Who holds the open task steps of a ticket (docs/decisions/0018, implementation notes).

A task step is given to its department, team, role or user at step level: the holder is
written into the step's data when it opens (services/process_tasks.py). While the step is
open (active, its process live) its holders may read the ticket and complete that step
(rules/access.py: StepHolder, can_complete_step); when it closes, the grant is gone,
because only open steps are read here. This module imports no other service, so that
services/common.py can build a ticket's facts with it.
"""
from __future__ import annotations

from appliance.models import ProcessInstance, ProcessStep
from appliance.rules.access import StepHolder

LIVE = ("running", "waiting")  # process_flow.LIVE: a process that can still move on


def holder_data(department_id: int | None, user_ids) -> dict:
    """What a task step's data keeps under "holder"."""
    return {"department_id": department_id, "user_ids": sorted({int(u) for u in user_ids})}


def step_holders(ticket_id: int) -> tuple[StepHolder, ...]:
    """The holders of the ticket's open task steps (one indexed query)."""
    rows = (ProcessStep.select(ProcessStep.id, ProcessStep.data)
            .join(ProcessInstance, on=(ProcessStep.instance == ProcessInstance.id))
            .where((ProcessInstance.ticket == ticket_id) & ProcessInstance.status.in_(LIVE)
                   & (ProcessStep.node_type == "task") & (ProcessStep.state == "active"))
            .order_by(ProcessStep.id))
    return tuple(h for h in (_holder(r.id, r.data) for r in rows) if h is not None)


def _holder(step_id: int, data) -> StepHolder | None:
    held = data.get("holder") if isinstance(data, dict) else None
    if not isinstance(held, dict):
        return None  # opened before step-level holders were recorded
    department = held.get("department_id")
    users = tuple(u for u in held.get("user_ids") or () if isinstance(u, int))
    return StepHolder(step_id, department if isinstance(department, int) else None, users)
