"""What the process designer offers to choose from, in the admin's language: departments,
teams, roles, users, categories and channels of this site, the fields conditions may use
(with their type, so the builder offers the operators that type allows), and the
dry-run's result as numbered, readable steps.
"""
from __future__ import annotations

from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from appliance.models.org import STAFF_ROLES
from appliance.rules import process_nodes as rules
from appliance.rules.process_conditions import FIELD_CHOICES, FIELD_TYPES, TYPE_OPERATORS
from appliance.services import org, process_defs, users
from webapp.filters import CHANNEL_LABELS, ROLE_LABELS, STATUS_LABELS
from webapp.views.process_labels import OUTCOME_LABELS, TYPE_LABELS

TICKET_FIELD_LABELS = {
    "status": _l("Status"), "priority": _l("Priority"), "urgency": _l("Urgency"),
    "channel": _l("Channel"), "category": _l("Category"), "department": _l("Department"),
    "assignee": _l("Assignee"), "language": _l("Language"), "sentiment": _l("Sentiment"),
    "subject": _l("Subject"), "due_at": _l("Due"),
}
PRIORITIES = ("1", "2", "3", "4")
# wait_event also takes these past-tense spellings (rules/process_nodes.py); not offered twice.
WAIT_EVENT_ALIASES = frozenset({"customer_replied", "agent_replied", "status_changed",
                                "field_changed"})
# The order an action's parameters are shown in; others follow alphabetically.
PARAM_ORDER = ("fields", "to", "department", "subject", "text", "message", "description",
               "internal", "event", "status", "field", "minutes", "timeout_minutes", "wait",
               "url", "method", "body")
DECISIONS = {"approved": _l("approved"), "rejected": _l("rejected")}


def _department_label(d) -> str:
    chinese = str(get_locale() or "").startswith("zh")
    return (d.name if chinese or not d.name_en else d.name_en) or d.code


def org_choices(actor) -> dict:
    departments = org.list_departments(active_only=True)
    staff = [u for u in users.list_users(actor) if u.role in STAFF_ROLES and u.active]
    return {
        "departments": [{"value": d.code, "label": f"{_department_label(d)} ({d.code})"}
                        for d in departments],
        "teams": [{"value": t.id, "label": f"{_department_label(d)} · {t.name}"}
                  for d in departments for t in d.teams],
        "roles": [{"value": r, "label": str(ROLE_LABELS[r])} for r in STAFF_ROLES],
        "users": [{"value": u.username, "label": f"{u.display_name} ({u.username})"}
                  for u in staff],
        "categories": [{"value": c.path, "label": c.path}
                       for c in org.list_categories(active_only=True)],
        "channels": [{"value": c, "label": str(label)} for c, label in CHANNEL_LABELS.items()],
    }


def field_choices(choices: dict) -> list[dict]:
    """Ticket fields, then custom fields (custom.<key>) with the labels admins gave them."""
    options = dict(FIELD_CHOICES)
    options["priority"] = PRIORITIES
    options["department"] = tuple(d["value"] for d in choices["departments"])
    options["category"] = tuple(c["value"] for c in choices["categories"])
    fields = [{"value": name, "label": str(TICKET_FIELD_LABELS.get(name, name)), "kind": kind,
               "options": [o for o in options.get(name, ()) if o != ""]}
              for name, kind in FIELD_TYPES.items()]
    # Fields a step may write but a condition cannot read (a task's due time).
    write_types = getattr(rules, "_WRITE_TYPES", {})
    for name in dict.fromkeys(rules.FORM_FIELDS + rules.SETTABLE_FIELDS):
        if name not in FIELD_TYPES:
            fields.append({"value": name, "label": str(TICKET_FIELD_LABELS.get(name, name)),
                           "kind": write_types.get(name, "text"), "options": [], "writeOnly": True})
    custom = {f"custom.{f.key}": f for f in org.list_custom_fields(active_only=True)}
    for name, kind in sorted(process_defs.known_fields().items()):
        if name in FIELD_TYPES or name.startswith("process."):
            continue
        f = custom.get(name)
        fields.append({"value": name, "kind": kind, "options": list(f.options) if f else [],
                       "label": _("%(label)s (custom field)", label=f.label) if f else name})
    return fields


def _param_order(name: str) -> tuple:
    return (PARAM_ORDER.index(name), "") if name in PARAM_ORDER else (len(PARAM_ORDER), name)


def vocabulary() -> dict:
    """The rules' words for node settings, so the designer offers exactly what validates."""
    return {
        "assigneeKinds": list(rules.ASSIGNEE_KINDS), "approverKinds": list(rules.APPROVER_KINDS),
        "notifyKinds": list(rules.NOTIFY_KINDS), "quorumModes": list(rules.QUORUM_MODES),
        "endOutcomes": list(rules.END_OUTCOMES),
        "waitEvents": [e for e in rules.WAIT_EVENTS if e not in WAIT_EVENT_ALIASES],
        "methods": list(getattr(rules, "WEBHOOK_METHODS", ())),
        "actions": {a: sorted(rules.ACTION_KEYS[a], key=_param_order) for a in rules.ACTIONS},
        "formFields": list(rules.FORM_FIELDS), "settableFields": list(rules.SETTABLE_FIELDS),
        "statuses": [{"value": s, "label": str(STATUS_LABELS.get(s, s))}
                     for s in FIELD_CHOICES["status"]],
    }


def designer_choices(actor) -> dict:
    choices = org_choices(actor)
    return {"org": choices, "fields": field_choices(choices), "vocab": vocabulary(),
            "typeOperators": {kind: sorted(ops) for kind, ops in TYPE_OPERATORS.items()}}


# -- dry-run ---------------------------------------------------------------------------

def _edge_between(document: dict, source: str, target: str) -> str | None:
    for e in document.get("edges") or []:
        if isinstance(e, dict) and e.get("from") == source and e.get("to") == target:
            return e.get("id")
    return None


def _step_text(step, names: dict) -> str:
    kind = str(TYPE_LABELS.get(step.node_type, step.node_type))
    text = f"{step.number}. {kind}: {step.label or step.node_id}"
    if step.node_type == "approval":
        decision = step.decided_by.removeprefix("approval: ").split(" ", 1)[0].rstrip(";")
        text += " — " + (str(DECISIONS[decision]) if decision in DECISIONS else decision)
        if "assumed" in step.decided_by:
            text += " " + _("(assumed: no outcome given)")
    if step.sets:
        text += " — " + _("sets %(fields)s", fields=", ".join(sorted(step.sets)))
    if step.node_type == "end":
        return text
    if step.next_nodes:
        text += " → " + ", ".join(names.get(n, n) for n in step.next_nodes)
    elif step.waits:
        text += " — " + _("waits for the other branches")
    return text


def simulation_view(document: dict, sim) -> dict:
    """{steps: [{node, edge, text}], result, status} for the designer's dry-run panel.

    A step's `edge` is the edge that led to it, so highlighting steps 1..n draws the path."""
    names = {n.get("id"): n.get("label") or n.get("id") for n in document.get("nodes") or []
             if isinstance(n, dict)}
    arrived_by: dict[str, str | None] = {}
    steps = []
    for step in sim.steps:
        steps.append({"node": step.node_id, "edge": arrived_by.pop(step.node_id, None),
                      "text": _step_text(step, names), "branch": step.branch})
        for target in step.next_nodes:
            arrived_by[target] = _edge_between(document, step.node_id, target)
    return {"steps": steps, "status": sim.status, "result": _result_text(sim, names)}


def _result_text(sim, names: dict) -> str:
    if sim.status == "ended":
        outcome = str(OUTCOME_LABELS.get(sim.outcome, sim.outcome or ""))
        return _("The ticket ends at %(node)s (%(outcome)s) after %(n)s steps.",
                 node=names.get(sim.end_node, sim.end_node), outcome=outcome, n=len(sim.steps))
    if sim.status == "stopped":
        return _("Stopped after %(n)s steps: the flow keeps looping.", n=len(sim.steps))
    last = sim.steps[-1].node_id if sim.steps else ""
    return _("The ticket gets stuck at %(node)s.", node=names.get(last, last) or "—")
