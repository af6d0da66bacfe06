"""Automatic actions of process steps (docs/decisions/0018), run inside the step's
transaction so each happens exactly once with the step: set_fields, add_note, notify,
create_subticket, wait_timer and wait_event. The webhook is called outside any
transaction (see process_engine and process_webhook).

Events a wait_event step waits for, after the moment it was entered: customer_reply,
agent_reply (a public one), status_change (to `status` when given), field_change (of
`field` when given, by a person), subticket_done (the step's earlier sub-ticket ended).
"""
from __future__ import annotations

from appliance import runtime
from appliance.models import (Category, Comment, Notification, ProcessStep, Ticket,
                              TimelineEvent, User, utcnow)
from appliance.rules import states
from appliance.rules.access import SYSTEM
from appliance.services import common, process_people
from appliance.services import process_flow as flow

EVENTS = {"customer_reply": "customer_reply", "customer_replied": "customer_reply",
          "agent_reply": "agent_reply", "agent_replied": "agent_reply",
          "status_change": "status_change", "status_changed": "status_change",
          "field_change": "field_change", "field_changed": "field_change",
          "subticket_done": "subticket_done"}
MAX_NOTE = 10_000


def run(instance, doc: dict, step: ProcessStep, node: dict) -> bool:
    """Do the action; True when the step is done, False when it now waits."""
    action, params = node.get("action"), node.get("params") or {}
    if not isinstance(params, dict):
        raise flow.ProcessError(f"the parameters of {step.node_id} are not an object")
    handler = _ACTIONS.get(action)
    if handler is None:
        raise flow.ProcessError(f"unknown action {action}")
    return handler(instance, step, params)


def _set_fields(instance, step, params) -> bool:
    from appliance.services import tickets
    values = params.get("fields") or {}
    if not isinstance(values, dict):
        raise flow.ProcessError("set_fields needs fields as an object")
    changes, custom = {}, {}
    for name, value in values.items():
        if name.startswith("custom."):
            custom[name[len("custom."):]] = value
        else:
            column, value = _ticket_value(name, value)
            changes[column] = value
    if custom:
        changes["custom_fields"] = custom
    if changes:
        tickets.update_ticket(SYSTEM, instance.ticket_id, changes, runtime.settings())
    return True


def _ticket_value(name: str, value) -> tuple[str, object]:
    """A ticket field by its condition name, as update_ticket takes it."""
    if name in ("subject", "priority", "urgency", "status", "due_at"):
        return name, value
    if name == "department":
        d = process_people.department_by_code(value)
        if d is None and value not in (None, ""):
            raise flow.ProcessError(f"unknown or inactive department {value}")
        return "department_id", d.id if d else None
    if name == "assignee":
        user = User.get_or_none(User.username == str(value)) if value not in (None, "") else None
        if user is None and value not in (None, ""):
            raise flow.ProcessError(f"unknown user {value}")
        return "assignee_id", user.id if user else None
    if name == "category":
        row = Category.get_or_none((Category.path == str(value)) | (Category.name == str(value)))
        if row is None and value not in (None, ""):
            raise flow.ProcessError(f"unknown category {value}")
        return "category_id", row.id if row else None
    raise flow.ProcessError(f"the field {name} cannot be set by a process")


def _add_note(instance, step, params) -> bool:
    """An internal note from the system; with "internal": false a public reply (which
    goes to the customer as any reply does)."""
    text = common.clean_text(str(params.get("text") or ""), "text", max_len=MAX_NOTE)
    if not text:
        raise flow.ProcessError(f"the note of {step.node_id} is empty")
    if params.get("internal") is False:
        from appliance.services import comments
        comments.add_comment(SYSTEM, instance.ticket_id, text, runtime.settings())
        return True
    comment = Comment.create(ticket=instance.ticket_id, author=None, author_kind="system",
                             internal=True, body=text, channel="web", created_at=utcnow())
    common.record(instance.ticket_id, None, "note_added", after={"comment_id": comment.id},
                  internal=True)
    return True


def _notify(instance, step, params) -> bool:
    t = Ticket.get_by_id(instance.ticket_id)
    people = process_people.resolve(params.get("to"), t)
    if not people:
        raise flow.ProcessError(f"nobody to notify for {step.node_id}")
    message = str(params.get("message") or "")[:500]
    for user_id in people:
        Notification.create(user=user_id, kind="process_notify", ticket=t.id,
                            data={"process": instance.key, "step": step.label,
                                  "message": message})
    _remember(step, notified=len(people))
    return True


def _create_subticket(instance, step, params) -> bool:
    from appliance.errors import DomainError
    from appliance.services import links, tickets
    d = process_people.department_by_code(params.get("department"))
    if d is None:
        raise flow.ProcessError(f"unknown or inactive department {params.get('department')}")
    parent = Ticket.get_by_id(instance.ticket_id)
    subject = str(params.get("subject") or "").strip() or step.label
    subject = subject.replace("{number}", parent.number).replace("{subject}", parent.subject)
    data = tickets.TicketInput(subject=subject[:255], description=str(
        params.get("description") or ""), department_id=d.id, channel="api")
    try:
        child = links.create_subticket(SYSTEM, parent.id, data, runtime.settings())
    except DomainError as exc:
        raise flow.ProcessError(f"the sub-ticket could not be created: {exc.message} "
                                f"{getattr(exc, 'fields', '')}".strip()) from None
    _remember(step, subticket=child.summary.id, subticket_number=child.summary.number)
    if params.get("wait"):
        return _wait(step, {"event": "subticket_done", "subticket": child.summary.id})
    return True


def _wait_timer(instance, step, params) -> bool:
    wake = flow.minutes_from_now(params.get("minutes"))
    if wake is None:
        raise flow.ProcessError(f"the timer of {step.node_id} needs minutes above 0")
    ProcessStep.update(state="active", wake_at=wake, due_at=wake).where(
        ProcessStep.id == step.id).execute()
    step.state, step.wake_at = "active", wake
    flow.step_event(instance, step, None, "active", wake_at=wake.isoformat())
    return False


def _wait_event(instance, step, params) -> bool:
    event = EVENTS.get(params.get("event"))
    if event is None:
        raise flow.ProcessError(f"unknown event {params.get('event')}")
    _wait(step, {"event": event, "status": params.get("status") or "",
                 "field": params.get("field") or ""})
    flow.step_event(instance, step, None, "active", event=event)
    return False


def _wait(step: ProcessStep, what: dict) -> bool:
    ticket_id = step.instance.ticket_id
    marks = {"after_event": TimelineEvent.select(TimelineEvent.id).where(
                 TimelineEvent.ticket == ticket_id).order_by(TimelineEvent.id.desc()).scalar() or 0,
             "after_comment": Comment.select(Comment.id).where(
                 Comment.ticket == ticket_id).order_by(Comment.id.desc()).scalar() or 0}
    data = {**(step.data or {}), "wait": {**what, **marks}}
    ProcessStep.update(state="active", data=data).where(ProcessStep.id == step.id).execute()
    step.state, step.data = "active", data
    return False


def _remember(step: ProcessStep, **values) -> None:
    data = {**(step.data or {}), **values}
    ProcessStep.update(data=data).where(ProcessStep.id == step.id).execute()
    step.data = data


def event_happened(step: ProcessStep, ticket_id: int) -> bool:
    """Whether what a waiting wait_event step waits for has happened since it began."""
    wait = (step.data or {}).get("wait") or {}
    event = wait.get("event")
    if event in ("customer_reply", "agent_reply"):
        return Comment.select().where(
            (Comment.ticket == ticket_id) & (Comment.id > wait.get("after_comment", 0))
            & (Comment.author_kind == ("customer" if event == "customer_reply" else "agent"))
            & (Comment.internal == False)).exists()  # noqa: E712
    if event == "subticket_done":
        status = Ticket.select(Ticket.status).where(Ticket.id == wait.get("subticket")).scalar()
        return status is None or not states.is_open(status)
    kinds = ("status_changed", "reopened") if event == "status_change" else (
        "field_changed", "assigned")
    rows = TimelineEvent.select(TimelineEvent.field, TimelineEvent.after, TimelineEvent.actor).where(
        (TimelineEvent.ticket == ticket_id) & (TimelineEvent.id > wait.get("after_event", 0))
        & TimelineEvent.kind.in_(kinds))
    for row in rows:
        if event == "status_change" and (not wait.get("status") or row.after == wait["status"]):
            return True
        if event == "field_change" and row.actor_id is not None and (
                not wait.get("field") or row.field == _column_of(wait["field"])):
            return True
    return False


def _column_of(name: str) -> str:
    """The `field` tickets.update_ticket records a change of this condition field under."""
    if name.startswith("custom."):
        return "custom_fields"
    return {"department": "department_id", "assignee": "assignee_id",
            "category": "category_id"}.get(name, name)


_ACTIONS = {"set_fields": _set_fields, "add_note": _add_note, "notify": _notify,
            "create_subticket": _create_subticket, "wait_timer": _wait_timer,
            "wait_event": _wait_event}
