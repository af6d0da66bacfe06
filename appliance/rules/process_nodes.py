"""What each kind of process node holds, checked field by field (pure).

`check_node` returns the problems of one node's own settings (assignee, form, approvers,
quorum, action parameters, webhook host); how nodes connect is rules/process_graph.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from appliance.rules.process_conditions import FIELD_CHOICES, check_value
from appliance.rules.process_problems import Problem, join_path, problem

NODE_TYPES = ("start", "end", "task", "approval", "gateway", "parallel_split",
              "parallel_join", "action")
ACTIONS = ("set_fields", "add_note", "notify", "create_subticket", "wait_timer",
           "wait_event", "webhook")
ASSIGNEE_KINDS = ("department", "team", "role", "user")
APPROVER_KINDS = ("user", "role", "department_lead", "requester_manager")
NOTIFY_KINDS = ("user", "role", "department", "team", "department_lead", "requester_manager",
                "assignee")
QUORUM_MODES = ("any", "all", "n_of_m")
END_OUTCOMES = ("resolved", "rejected")
ROLES = ("agent", "supervisor", "admin")
# What wait_event may wait for (services/process_actions.py: the last four are aliases).
WAIT_EVENTS = ("customer_reply", "agent_reply", "status_change", "field_change", "subticket_done",
               "customer_replied", "agent_replied", "status_changed", "field_changed")
# What a task form may ask for and set_fields may write, besides custom.<key>
# (services/process_tasks.py and process_actions.py).
FORM_FIELDS = ("subject", "priority", "urgency", "category", "due_at")
SETTABLE_FIELDS = FORM_FIELDS + ("status", "department", "assignee")
_WRITE_TYPES = {"due_at": "date"}
MAX_LABEL = 200
MAX_MINUTES = 366 * 24 * 60
MAX_APPROVERS = 50
MAX_FORM = 50
COMMON_KEYS = frozenset({"id", "type", "label", "x", "y"})
NODE_KEYS: dict[str, frozenset] = {
    "start": frozenset(), "end": frozenset({"outcome"}), "gateway": frozenset(),
    "task": frozenset({"assignee", "form", "sla_minutes"}),
    "approval": frozenset({"approvers", "quorum", "due_minutes", "escalate_to"}),
    "parallel_split": frozenset(), "parallel_join": frozenset(),
    "action": frozenset({"action", "params"}),
}
ACTION_KEYS: dict[str, frozenset] = {
    "set_fields": frozenset({"fields"}), "add_note": frozenset({"text", "internal"}),
    "notify": frozenset({"to", "message"}),
    "create_subticket": frozenset({"department", "subject", "description", "wait"}),
    "wait_timer": frozenset({"minutes"}), "wait_event": frozenset({"event", "status", "field"}),
    "webhook": frozenset({"url"}),
}
_USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")


@dataclass(frozen=True)
class Context:
    """What a node is checked against: field types, departments, webhook hosts."""
    field_types: dict
    departments: frozenset | None = None  # None: not checked
    webhook_hosts: tuple = ()


def check_node(node: dict, path: str, ctx: Context) -> list[Problem]:
    """Problems of one node's settings (its id and type are checked by the caller)."""
    kind = node["type"]
    problems = keys_problems(node, COMMON_KEYS | NODE_KEYS[kind], path)
    problems += text_problems(node.get("label"), join_path(path, "label"), MAX_LABEL)
    for axis in ("x", "y"):
        problems += number_problems(node.get(axis), join_path(path, axis), -100000, 100000)
    checks = {"end": _end, "task": _task, "approval": _approval, "action": _action}
    if kind in checks:
        problems += checks[kind](node, path, ctx)
    return problems


# -- small shape checks, shared with process_definition -------------------------------

def keys_problems(obj: dict, allowed, path: str) -> list[Problem]:
    return [problem(join_path(path, k), "unknown_key", key=k)
            for k in sorted(set(obj) - set(allowed), key=str)]


def text_problems(value, path: str, max_len: int, required: bool = False) -> list[Problem]:
    if value is None or value == "":
        return [problem(path, "missing")] if required else []
    if not isinstance(value, str):
        return [problem(path, "not_text")]
    return [problem(path, "too_long", max=max_len)] if len(value) > max_len else []


def number_problems(value, path: str, low, high, required=False, whole=False) -> list[Problem]:
    if value is None:
        return [problem(path, "missing")] if required else []
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return [problem(path, "not_number")]
    if whole and not (isinstance(value, int) or value.is_integer()):
        return [problem(path, "not_integer")]
    return [] if low <= value <= high else [problem(path, "out_of_range", min=low, max=high)]


def bool_problems(value, path: str) -> list[Problem]:
    return [] if value is None or isinstance(value, bool) else [problem(path, "not_boolean")]


def choice_problems(value, choices, path: str) -> list[Problem]:
    if value is None or value == "":
        return [problem(path, "missing")]
    return [] if value in choices else [problem(path, "not_one_of", choices=choices)]


def department_problems(code, path: str, ctx: Context, required=True) -> list[Problem]:
    if code in (None, ""):
        return [problem(path, "missing")] if required else []
    if not isinstance(code, str):
        return [problem(path, "not_text")]
    if ctx.departments is not None and code not in ctx.departments:
        return [problem(path, "unknown_department", department=code)]
    return []


def minutes_problems(value, path: str, required=False) -> list[Problem]:
    return number_problems(value, path, 1, MAX_MINUTES, required=required, whole=True)


def _object(value, path: str, required=True) -> tuple[dict | None, list[Problem]]:
    if value is None:
        return None, [problem(path, "missing")] if required else []
    if not isinstance(value, dict):
        return None, [problem(path, "not_object")]
    return value, []


# -- node types --------------------------------------------------------------------------

def _end(node: dict, path: str, ctx: Context) -> list[Problem]:
    return choice_problems(node.get("outcome"), END_OUTCOMES, join_path(path, "outcome"))


def _task(node: dict, path: str, ctx: Context) -> list[Problem]:
    here = join_path(path, "assignee")
    assignee, problems = _object(node.get("assignee"), here)
    if assignee is not None:
        problems += keys_problems(assignee, {"kind", "value"}, here)
        problems += _party(assignee, ASSIGNEE_KINDS, here, ctx)
    problems += _form(node.get("form"), join_path(path, "form"), ctx)
    return problems + minutes_problems(node.get("sla_minutes"), join_path(path, "sla_minutes"))


def _party(party: dict, kinds, path: str, ctx: Context, several: bool = False) -> list[Problem]:
    """An assignee, approver or recipient: {"kind", "value"} with a value that suits the
    kind; with `several` (approvers), a user's value may be a list of user names."""
    kind, value, here = party.get("kind"), party.get("value"), join_path(path, "value")
    found = choice_problems(kind, kinds, join_path(path, "kind"))
    if found:
        return found
    if kind == "department":
        return department_problems(value, here, ctx)
    if kind == "department_lead":  # "" is the ticket's own department
        return department_problems(value, here, ctx, required=False)
    if kind == "team":
        ok = (isinstance(value, int) and not isinstance(value, bool) and value > 0) or \
            (isinstance(value, str) and value.isdigit() and int(value) > 0)
        return [] if ok else [problem(here, "not_integer")]
    if kind == "role":
        return choice_problems(value, ROLES, here)
    if kind == "user":
        return _usernames(value, here) if several and isinstance(value, list) else \
            _username(value, here)
    return []  # requester_manager, assignee: nothing to name


def _username(value, path: str) -> list[Problem]:
    if value in (None, ""):
        return [problem(path, "missing")]
    return [] if isinstance(value, str) and _USERNAME.match(value) else \
        [problem(path, "bad_username")]


def _usernames(names: list, path: str) -> list[Problem]:
    if not names:
        return [problem(path, "missing")]
    if len(names) > MAX_APPROVERS:
        return [problem(path, "too_many", max=MAX_APPROVERS)]
    return [p for i, name in enumerate(names) for p in _username(name, join_path(path, i))]


def _form(form, path: str, ctx: Context) -> list[Problem]:
    if form is None:
        return []
    if not isinstance(form, list):
        return [problem(path, "not_list")]
    if len(form) > MAX_FORM:
        return [problem(path, "too_many", max=MAX_FORM)]
    problems: list[Problem] = []
    for i, entry in enumerate(form):
        here = join_path(path, i)
        if not isinstance(entry, dict):
            problems.append(problem(here, "not_object"))
            continue
        problems += keys_problems(entry, {"field", "required", "default", "shown"}, here)
        problems += bool_problems(entry.get("required"), join_path(here, "required"))
        problems += bool_problems(entry.get("shown"), join_path(here, "shown"))
        problems += _field_value(entry.get("field"), entry.get("default"), join_path(here, "field"),
                                 join_path(here, "default"), ctx, FORM_FIELDS)
    return problems


def _field_value(name, value, field_path: str, value_path: str, ctx: Context,
                 writable: tuple) -> list[Problem]:
    """A field a step may write and, unless None, a value that suits it."""
    if not isinstance(name, str) or not name:
        return [problem(field_path, "missing")]
    types = {**ctx.field_types, **_WRITE_TYPES}
    if name not in types or name.startswith("process."):
        return [problem(field_path, "unknown_field", field=name)]
    if name not in writable and not name.startswith("custom."):
        return [problem(field_path, "field_not_writable", field=name)]
    kind = types[name]
    if value is None or (kind == "multiselect" and isinstance(value, list)):
        return []
    if name == "department":
        return department_problems(value, value_path, ctx)
    if name == "assignee":
        return _username(value, value_path)
    found = check_value(name, kind, value)
    return [problem(value_path, found[0], **found[1])] if found else []


def _approval(node: dict, path: str, ctx: Context) -> list[Problem]:
    here = join_path(path, "approvers")
    approvers = node.get("approvers")
    if not isinstance(approvers, dict) or approvers.get("kind") in (None, ""):
        return [problem(here, "approval_without_approvers")] + _quorum(node, path, None)
    problems = keys_problems(approvers, {"kind", "value"}, here)
    if approvers.get("kind") in ("user", "role") and approvers.get("value") in (None, "", []):
        problems.append(problem(here, "approval_without_approvers"))
    else:
        problems += _party(approvers, APPROVER_KINDS, here, ctx, several=True)
    problems += _quorum(node, path, approvers)
    problems += minutes_problems(node.get("due_minutes"), join_path(path, "due_minutes"))
    target = join_path(path, "escalate_to")
    escalate, found = _object(node.get("escalate_to"), target, required=False)
    problems += found
    if escalate is not None:
        problems += keys_problems(escalate, {"kind", "value"}, target)
        problems += _party(escalate, APPROVER_KINDS, target, ctx)
    return problems


def _quorum(node: dict, path: str, approvers: dict | None) -> list[Problem]:
    here = join_path(path, "quorum")
    quorum, problems = _object(node.get("quorum"), here, required=False)
    if quorum is None:
        return problems
    problems = keys_problems(quorum, {"mode", "n"}, here)
    problems += choice_problems(quorum.get("mode"), QUORUM_MODES, join_path(here, "mode"))
    if quorum.get("mode") != "n_of_m":
        return problems
    most = _approver_count(approvers)
    n = quorum.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= most:
        problems.append(problem(join_path(here, "n"), "quorum_out_of_range", max=most))
    return problems


def _approver_count(approvers: dict | None) -> int:
    """How many people can decide: everyone of a role, the users named (a list), else one
    (a user, a lead, a manager)."""
    if approvers and approvers.get("kind") == "role":
        return MAX_APPROVERS
    value = approvers.get("value") if approvers else None
    if approvers and approvers.get("kind") == "user" and isinstance(value, list):
        return max(1, len({v for v in value if isinstance(v, str)}))
    return 1



# -- actions -----------------------------------------------------------------------------

def _action(node: dict, path: str, ctx: Context) -> list[Problem]:
    action = node.get("action")
    problems = choice_problems(action, ACTIONS, join_path(path, "action"))
    if problems:
        return problems
    here = join_path(path, "params")
    params, problems = _object(node.get("params", {}), here)
    if params is None:
        return problems
    problems = keys_problems(params, ACTION_KEYS[action], here)
    return problems + _ACTION_CHECKS[action](params, here, ctx)


def _set_fields(params: dict, path: str, ctx: Context) -> list[Problem]:
    here = join_path(path, "fields")
    values, problems = _object(params.get("fields"), here)
    if values is None:
        return problems
    if not values:
        return [problem(here, "missing")]
    for name in sorted(values):
        at = join_path(here, name)
        problems += _field_value(name, values[name], at, at, ctx, SETTABLE_FIELDS)
    return problems


def _add_note(params: dict, path: str, ctx: Context) -> list[Problem]:
    return text_problems(params.get("text"), join_path(path, "text"), 5000, required=True) + \
        bool_problems(params.get("internal"), join_path(path, "internal"))


def _notify(params: dict, path: str, ctx: Context) -> list[Problem]:
    here = join_path(path, "to")
    to, problems = _object(params.get("to"), here)
    if to is not None:
        problems += keys_problems(to, {"kind", "value"}, here) + _party(to, NOTIFY_KINDS, here, ctx)
    return problems + text_problems(params.get("message"), join_path(path, "message"), 500)


def _create_subticket(params: dict, path: str, ctx: Context) -> list[Problem]:
    return department_problems(params.get("department"), join_path(path, "department"), ctx) + \
        text_problems(params.get("subject"), join_path(path, "subject"), 255) + \
        text_problems(params.get("description"), join_path(path, "description"), 5000) + \
        bool_problems(params.get("wait"), join_path(path, "wait"))


def _wait_timer(params: dict, path: str, ctx: Context) -> list[Problem]:
    return minutes_problems(params.get("minutes"), join_path(path, "minutes"), required=True)


def _wait_event(params: dict, path: str, ctx: Context) -> list[Problem]:
    problems = choice_problems(params.get("event"), WAIT_EVENTS, join_path(path, "event"))
    if params.get("status") not in (None, ""):
        problems += choice_problems(params["status"], FIELD_CHOICES["status"],
                                    join_path(path, "status"))
    name = params.get("field")
    if name not in (None, "") and (not isinstance(name, str) or name not in ctx.field_types):
        problems.append(problem(join_path(path, "field"), "unknown_field", field=name))
    return problems


def _webhook(params: dict, path: str, ctx: Context) -> list[Problem]:
    return _url_problems(params.get("url"), join_path(path, "url"), ctx.webhook_hosts)


def _url_problems(url, path: str, allowed: tuple) -> list[Problem]:
    found = text_problems(url, path, 2000, required=True)
    if found:
        return found
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return [problem(path, "bad_url")]
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password is not None:
        return [problem(path, "bad_url")]
    port = port or (443 if parts.scheme == "https" else 80)
    return [] if host_allowed(parts.hostname, port, allowed) else \
        [problem(path, "webhook_host_not_allowed", host=parts.hostname)]


def host_allowed(host: str, port: int, allowed: tuple) -> bool:
    """Whether the admin allow-list names this host: "hooks.example.com" (any port) or
    "hooks.example.com:8443" (that port only), as services/process_webhook.py reads it."""
    host = host.lower()
    for entry in allowed:
        try:
            parts = urlsplit("//" + str(entry).strip())
            name, entry_port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            continue
        if name and name == host and entry_port in (None, port):
            return True
    return False


_ACTION_CHECKS = {
    "set_fields": _set_fields, "add_note": _add_note, "notify": _notify,
    "create_subticket": _create_subticket, "wait_timer": _wait_timer,
    "wait_event": _wait_event, "webhook": _webhook,
}
