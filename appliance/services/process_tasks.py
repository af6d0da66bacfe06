"""Task steps: the step is given to a department, team, role or person, with a due time
from the node's SLA, and the ticket moves there unless another parallel branch still has
work; an agent who can work the ticket, or who holds the step, completes it after filling
the node's required form fields (docs/decisions/0018).

Form fields are ticket fields (subject, priority, urgency, category as an id, due_at) or
custom fields (`custom.<key>`); the values an agent sends are applied through
tickets.apply_step_form, so they are validated, versioned and on the timeline as any edit.
A field left out that is empty on the ticket takes the node's default.
"""
from __future__ import annotations

from dataclasses import dataclass

from appliance import runtime
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (Category, CustomFieldDef, Notification, ProcessStep, Ticket,
                              utcnow)
from appliance.rules import states
from appliance.rules.access import SYSTEM, Actor, can_complete_step
from appliance.rules.process_conditions import is_empty
from appliance.services import common, process_grants, process_people
from appliance.services import process_flow as flow

FORM_TICKET_FIELDS = {"subject": "subject", "priority": "priority", "urgency": "urgency",
                      "category": "category_id", "due_at": "due_at"}
KEEP_WHEN_EMPTY = ("subject", "priority", "urgency")  # an empty value leaves these alone


# -- entering a task ---------------------------------------------------------------------

@dataclass(frozen=True)
class Given:
    """Whom a task goes to: who holds the step (a department's members and/or people)
    and where the ticket would move."""
    department_id: int | None
    user_ids: tuple[int, ...]
    ticket: dict


def open_task(instance, doc: dict, step: ProcessStep, node: dict) -> None:
    """Give the step to the node's assignee and wait for an agent. The ticket moves
    there only when no other branch of the process has work open; otherwise (parallel
    branches in several departments) the step alone is theirs: they may read the ticket
    and complete the step (services/process_grants.py), and are notified."""
    t = Ticket.get_by_id(instance.ticket_id)
    given = _assignment(node.get("assignee"), t)
    step_level = flow.other_branch_open(instance, step)
    if step_level and given.department_id is None and not given.user_ids:
        raise flow.ProcessError(f"nobody to give the task {step.node_id} to")
    changes = {} if step_level else _only_changed(t, given.ticket)
    due = flow.minutes_from_now(node.get("sla_minutes"))
    if due is not None:
        changes["due_at"] = due  # the ticket's due time orders the queues (SLA)
    if changes:
        from appliance.services import tickets
        tickets.update_ticket(SYSTEM, t.id, changes, runtime.settings())
    data = {**(step.data or {}), "assigned": _jsonable(changes), "step_level": step_level,
            "holder": process_grants.holder_data(given.department_id, given.user_ids)}
    ProcessStep.update(state="active", due_at=due, data=data).where(
        ProcessStep.id == step.id).execute()
    step.state, step.due_at, step.data = "active", due, data
    if step_level:  # the ticket is not in their queue: tell them
        _notify(given.user_ids or process_people.resolve(node.get("assignee"), t),
                instance, step)
    flow.step_event(instance, step, None, "active",
                    assignee=(node.get("assignee") or {}).get("value"),
                    step_level=step_level or None,
                    due_at=due.isoformat() if due else None)


def _assignment(rule, t: Ticket) -> Given:
    """What the node's assignee rule means for this ticket."""
    if not isinstance(rule, dict) or not rule.get("kind"):
        return Given(None, (), {})
    kind, value = rule.get("kind"), rule.get("value")
    if kind == "department":
        d = process_people.department_by_code(value)
        if d is None:
            raise flow.ProcessError(f"unknown or inactive department {value}")
        keep = t.assignee_id and process_people.department_of(t.assignee_id) == d.id
        return Given(d.id, (), {"department_id": d.id,
                                "assignee_id": t.assignee_id if keep else None})
    people = process_people.resolve(rule, t)
    if kind == "team":
        team = process_people.team_by_value(value)
        if team is None:
            raise flow.ProcessError(f"unknown team {value}")
        who = t.assignee_id if t.assignee_id in people else process_people.least_loaded(people)
        return Given(None, tuple(people), {"department_id": team.department_id,
                                           "assignee_id": who})
    who = process_people.least_loaded(people)
    if who is None:
        raise flow.ProcessError(f"nobody to give the task to ({kind} {value})")
    changes = {"assignee_id": who}
    dept = process_people.department_of(who)
    if dept is not None:
        changes["department_id"] = dept
    return Given(None, (who,), changes)


def _notify(user_ids, instance, step: ProcessStep) -> None:
    for user_id in user_ids:
        Notification.create(user=user_id, kind="process_task", ticket=instance.ticket_id,
                            data={"process": instance.key, "step": step.label,
                                  "instance": instance.id})


def _only_changed(t: Ticket, changes: dict) -> dict:
    return {k: v for k, v in changes.items() if getattr(t, k) != v}


def _jsonable(changes: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}


# -- the form ----------------------------------------------------------------------------

def form_of(node: dict) -> list[dict]:
    return [f for f in (node.get("form") or []) if isinstance(f, dict) and f.get("field")]


def current_value(t: Ticket, name: str):
    if name.startswith("custom."):
        return (t.custom_fields or {}).get(name[len("custom."):])
    column = FORM_TICKET_FIELDS.get(name)
    return getattr(t, column) if column else None


def form_view(node: dict, t: Ticket) -> list[dict]:
    """The fields an agent fills to complete the task, with what the ticket holds now
    (or the default), for the panel's form: label (a custom field's label, else the
    ticket field's column name), kind, and options as (value, label) pairs."""
    defs = {d.key: d for d in CustomFieldDef.select()}
    out = []
    for f in form_of(node):
        name = f["field"]
        value = current_value(t, name)
        d = defs.get(name[len("custom."):]) if name.startswith("custom.") else None
        label, kind, options = _describe(name, d)
        out.append({"field": name, "required": bool(f.get("required")),
                    "shown": f.get("shown", True) is not False,
                    "value": f.get("default") if is_empty(value) else value,
                    "label": label, "kind": kind, "options": options})
    return out


def _describe(name: str, d) -> tuple[str, str, list[tuple]]:
    if d is not None:
        return d.label, d.kind, [(o, o) for o in d.options]
    if name == "urgency":
        return "urgency", "select", [(u, u) for u in states.URGENCIES]
    if name == "category":
        rows = Category.select(Category.id, Category.path).where(
            Category.active == True).order_by(Category.path)  # noqa: E712
        return "category_id", "select", [(c.id, c.path) for c in rows]
    return FORM_TICKET_FIELDS.get(name, name), name, []


def _changes(node: dict, t: Ticket, values: dict) -> dict:
    """update_ticket changes from the submitted values (only the node's form fields)."""
    form = {f["field"]: f for f in form_of(node)}
    unknown = sorted(set(values) - set(form))
    if unknown:
        raise ValidationError({k: "not a field of this step" for k in unknown})
    changes, custom = {}, {}
    for name, spec in form.items():
        if name in values:
            value = values[name]
        elif is_empty(current_value(t, name)) and not is_empty(spec.get("default")):
            value = spec["default"]  # left out and empty on the ticket: the default
        else:
            continue
        if name.startswith("custom."):
            custom[name[len("custom."):]] = value
        elif name in FORM_TICKET_FIELDS and not (name in KEEP_WHEN_EMPTY and is_empty(value)):
            changes[FORM_TICKET_FIELDS[name]] = value
    if custom:
        changes["custom_fields"] = custom
    return changes


def _missing(node: dict, t: Ticket) -> dict:
    return {f["field"]: "required" for f in form_of(node)
            if f.get("required") and is_empty(current_value(t, f["field"]))}


# -- completing --------------------------------------------------------------------------

def complete_step(actor: Actor, step_id: int, values: dict | None = None,
                  expected_version=None):
    """An agent who can work the ticket, or who holds the step, completes an open task
    step with the values of the step's form; 404 for steps of tickets the actor cannot
    see, 403 for a step of a ticket they may only read, 409 when the step is no longer
    open (someone else completed it), 400 naming missing required fields."""
    from appliance.services import process_views, tickets
    values = values or {}
    if not isinstance(values, dict):
        raise ValidationError({"fields": "must be an object"})
    with unit_of_work():
        step, instance, t = _open_task_for(actor, step_id)
        doc = flow.document(instance)
        node = flow.node_of(doc, step.node_id)
        changes = _changes(node, t, values)
        if changes:  # the form is the step's: its holders fill it in (as themselves)
            tickets.apply_step_form(actor, t, changes, expected_version=expected_version)
            t = Ticket.get_by_id(t.id)
        missing = _missing(node, t)
        if missing:
            raise ValidationError(missing, "fill in the required fields to complete the step")
        flow.conclude(instance, doc, step, actor)
    return process_views.step_view(ProcessStep.get_by_id(step_id))


def _open_task_for(actor: Actor, step_id: int):
    step = ProcessStep.get_or_none(ProcessStep.id == step_id)
    if step is None or not actor.is_staff:
        raise NotFound("process step not found", id=step_id)
    instance = flow.lock_instance(step.instance_id)
    t = common.ticket_for(actor, instance.ticket_id, lock=True)  # 404 if it cannot be seen
    if not can_complete_step(actor, common.facts(t), step_id):
        raise PermissionDenied("you may not complete this step")  # a holder of another step
    common.ensure_live(t)
    step = ProcessStep.get_by_id(step_id)  # read again under the lock
    if step.node_type != "task":
        raise Conflict("only task steps are completed by hand", step=step_id)
    if step.state != "active" or instance.status not in flow.LIVE:
        raise Conflict("this step is no longer open", step=step_id, state=step.state)
    return step, instance, t


def overdue(step: ProcessStep) -> bool:
    return step.state == "active" and step.due_at is not None and step.due_at <= utcnow()
