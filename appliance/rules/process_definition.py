"""Process definitions (docs/decisions/0018): validation, routing and what they use (pure).

`validate` lists every problem of a definition document with its JSON path; publishing
and import refuse a document with any. `next_edges` is the one place that decides which
edges a ticket follows from a node: the engine and the dry-run (process_simulate) both
call it. `used_departments` / `used_fields` tell what a published process depends on.
Node settings are checked in process_nodes, connections in process_graph, conditions in
process_conditions; `diff` lives in process_diff. Their public names are re-exported here.
"""
from __future__ import annotations

import re

from appliance.rules.process_conditions import FIELD_CHOICES, FIELD_TYPES, check_condition, \
    evaluate, leaves
from appliance.rules.process_diff import DiffLine, diff
from appliance.rules.process_graph import Graph, check_graph, ordered_edges, split_joins
from appliance.rules.process_nodes import NODE_TYPES, Context, check_node, choice_problems, \
    department_problems, keys_problems, text_problems
from appliance.rules.process_problems import MESSAGES, Problem, join_path, problem

__all__ = ["MESSAGES", "DiffLine", "Problem", "diff", "next_edges", "node_of", "ordered_edges",
           "split_joins", "start_matches", "used_departments", "used_fields", "validate"]

FORMAT = 1
MAX_NODES = 200
MAX_EDGES = 400
MAX_LABEL = 200
MAX_START_RULES = 50
TOP_KEYS = frozenset({"format", "key", "name", "description", "nodes", "edges", "start_rules"})
EDGE_KEYS = frozenset({"id", "from", "to", "on", "order", "condition", "label"})
RULE_KEYS = frozenset({"category", "channel", "department", "custom"})
KEY_PATTERN = re.compile(r"^[a-z0-9_]{2,64}$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate(document: dict, known_fields: dict[str, str],
             allowed_webhook_hosts: tuple[str, ...] = (),
             known_departments: frozenset[str] | None = None) -> list[Problem]:
    """Every problem of a definition, in document order (top, nodes, edges, rules, graph).

    `known_fields`: full field name -> type for custom fields ("custom.amount": "number");
    the ticket fields of FIELD_TYPES and `process.<approval id>.outcome` are added.
    `known_departments`: department codes, or None to leave codes unchecked."""
    if not isinstance(document, dict):
        return [problem("", "not_object")]
    problems = _top(document)
    sizes = _sizes(document)
    if sizes:
        return problems + sizes
    nodes, edges = document["nodes"], document["edges"]
    ctx = Context(_field_types(nodes, known_fields),
                  None if known_departments is None else frozenset(known_departments),
                  tuple(allowed_webhook_hosts))
    found, good_nodes = _nodes(nodes, ctx)
    problems += found
    named = {n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}
    found, good_edges = _edges(edges, named, ctx.field_types)
    problems += found + _start_rules(document.get("start_rules"), ctx)
    return problems + check_graph(Graph(good_nodes, good_edges))


def _field_types(nodes: list, known_fields: dict) -> dict[str, str]:
    outcomes = {f"process.{n['id']}.outcome": "select" for n in nodes
                if isinstance(n, dict) and n.get("type") == "approval"
                and isinstance(n.get("id"), str)}
    return {**FIELD_TYPES, **dict(known_fields or {}), **outcomes}


def _top(document: dict) -> list[Problem]:
    problems = keys_problems(document, TOP_KEYS, "")
    fmt = document.get("format")
    if fmt is None:
        problems.append(problem("format", "missing"))
    elif fmt != FORMAT or isinstance(fmt, bool):
        problems.append(problem("format", "unsupported_format", value=fmt))
    key = document.get("key")
    if key in (None, ""):
        problems.append(problem("key", "missing"))
    elif not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append(problem("key", "bad_key"))
    problems += _name(document.get("name"))
    return problems + text_problems(document.get("description"), "description", 2000)


def _name(name) -> list[Problem]:
    if not isinstance(name, dict):
        return [problem("name", "missing" if name is None else "not_object")]
    problems = keys_problems(name, {"zh", "en"}, "name")
    for lang in ("zh", "en"):
        problems += text_problems(name.get(lang), join_path("name", lang), MAX_LABEL)
    if not any(isinstance(name.get(k), str) and name[k].strip() for k in ("zh", "en")):
        problems.append(problem("name", "name_missing"))
    return problems


def _sizes(document: dict) -> list[Problem]:
    """Lists that are missing, of the wrong type or too long (nothing more is checked then)."""
    problems = []
    for key, most in (("nodes", MAX_NODES), ("edges", MAX_EDGES)):
        value = document.get(key)
        if value is None:
            problems.append(problem(key, "missing"))
        elif not isinstance(value, list):
            problems.append(problem(key, "not_list"))
        elif len(value) > most:
            problems.append(problem(key, "too_many", max=most))
    return problems


def _nodes(nodes: list, ctx: Context) -> tuple[list[Problem], list[tuple[int, dict]]]:
    problems, good, seen = [], [], set()
    for i, node in enumerate(nodes):
        path = f"nodes[{i}]"
        if not isinstance(node, dict):
            problems.append(problem(path, "not_object"))
            continue
        found = _id_problems(node.get("id"), join_path(path, "id"), seen)
        kind = node.get("type")
        if kind in (None, ""):
            found.append(problem(join_path(path, "type"), "missing"))
        elif kind not in NODE_TYPES:
            found.append(problem(join_path(path, "type"), "unknown_node_type", type=kind))
        else:
            found += check_node(node, path, ctx)
        if isinstance(node.get("id"), str):
            seen.add(node["id"])
        if not any(p.path in (join_path(path, "id"), join_path(path, "type")) for p in found):
            good.append((i, node))
        problems += found
    return problems, good


def _id_problems(value, path: str, seen: set) -> list[Problem]:
    if value in (None, ""):
        return [problem(path, "missing")]
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        return [problem(path, "bad_id")]
    return [problem(path, "duplicate_id", id=value)] if value in seen else []


def _edges(edges: list, named: set, types: dict) -> tuple[list[Problem], list[tuple[int, dict]]]:
    problems, good, seen = [], [], set()
    for i, edge in enumerate(edges):
        path = f"edges[{i}]"
        if not isinstance(edge, dict):
            problems.append(problem(path, "not_object"))
            continue
        found = keys_problems(edge, EDGE_KEYS, path)
        found += _id_problems(edge.get("id"), join_path(path, "id"), seen)
        if isinstance(edge.get("id"), str):
            seen.add(edge["id"])
        ends_ok = True
        for end in ("from", "to"):
            end_problems = _endpoint(edge.get(end), join_path(path, end), named)
            ends_ok = ends_ok and not end_problems
            found += end_problems
        found += _edge_settings(edge, path, types)
        if ends_ok:
            good.append((i, edge))
        problems += found
    return problems, good


def _endpoint(value, path: str, named: set) -> list[Problem]:
    if value in (None, ""):
        return [problem(path, "missing")]
    if not isinstance(value, str):
        return [problem(path, "not_text")]
    return [] if value in named else [problem(path, "dangling_edge", node=value)]


def _edge_settings(edge: dict, path: str, types: dict) -> list[Problem]:
    problems = []
    if edge.get("on") is not None:
        problems += choice_problems(edge["on"], ("approved", "rejected"), join_path(path, "on"))
    order = edge.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        problems.append(problem(join_path(path, "order"), "not_integer"))
    problems += text_problems(edge.get("label"), join_path(path, "label"), MAX_LABEL)
    return problems + check_condition(edge.get("condition"), types, join_path(path, "condition"))


def _start_rules(rules, ctx: Context) -> list[Problem]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        return [problem("start_rules", "not_list")]
    if len(rules) > MAX_START_RULES:
        return [problem("start_rules", "too_many", max=MAX_START_RULES)]
    problems: list[Problem] = []
    types = {k: v for k, v in ctx.field_types.items() if not k.startswith("process.")}
    for i, rule in enumerate(rules):
        path = f"start_rules[{i}]"
        if not isinstance(rule, dict):
            problems.append(problem(path, "not_object"))
            continue
        problems += keys_problems(rule, RULE_KEYS, path)
        problems += text_problems(rule.get("category"), join_path(path, "category"), MAX_LABEL)
        if rule.get("channel") is not None:
            problems += choice_problems(rule["channel"], FIELD_CHOICES["channel"],
                                        join_path(path, "channel"))
        problems += department_problems(rule.get("department"), join_path(path, "department"),
                                        ctx, required=False)
        problems += check_condition(rule.get("custom"), types, join_path(path, "custom"))
    return problems


# -- routing -----------------------------------------------------------------------------

def next_edges(document: dict, node_id: str, fields: dict, outcome: str | None = None
               ) -> list[dict]:
    """The edges a ticket follows from a node, given its fields (and an approval's outcome).

    gateway: the first edge by order whose condition holds, else the default (the edge
    without a condition); parallel_split: every edge; approval: among the edges whose `on`
    is the outcome, chosen as a gateway chooses (none without an outcome); end: none;
    other nodes: their edges (validation allows one, without a condition).
    An empty list from a node other than an end means the ticket cannot go on."""
    node = node_of(document, node_id)
    if node is None or node.get("type") == "end":
        return []
    edges = document.get("edges")
    edges = ordered_edges(edges if isinstance(edges, list) else [], node_id)
    kind = node.get("type")
    if kind == "parallel_split":
        return edges
    if kind == "approval":
        if outcome is None:
            return []
        return _choose([e for e in edges if e.get("on") == outcome], fields)
    if kind == "gateway":
        return _choose(edges, fields)
    return [e for e in edges if evaluate(e.get("condition"), fields)]


def _choose(edges: list[dict], fields: dict) -> list[dict]:
    for edge in edges:
        if edge.get("condition") is not None and evaluate(edge["condition"], fields):
            return [edge]
    return [e for e in edges if e.get("condition") is None][:1]


def node_of(document: dict, node_id: str) -> dict | None:
    """The node with this id, or None."""
    nodes = document.get("nodes") if isinstance(document, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("id") == node_id:
            return node
    return None


def start_matches(rules: list, ticket_fields: dict) -> bool:
    """Whether any start rule takes this ticket. A rule's criteria that are not null must
    all hold: category (the ticket's category or one below it: "售后" takes "售后/维修"),
    channel and department (case-insensitive), and the `custom` condition."""
    return any(_rule_matches(rule, ticket_fields) for rule in rules or []
               if isinstance(rule, dict))


def _rule_matches(rule: dict, fields: dict) -> bool:
    wanted = rule.get("category")
    if wanted not in (None, ""):
        have = _norm(fields.get("category"))
        if not (have == _norm(wanted) or have.startswith(_norm(wanted) + "/")):
            return False
    for key in ("channel", "department"):
        if rule.get(key) not in (None, "") and _norm(fields.get(key)) != _norm(rule[key]):
            return False
    return evaluate(rule.get("custom"), fields)


def _norm(value) -> str:
    return "" if value is None else str(value).strip().casefold()


# -- what a process uses -----------------------------------------------------------------

def used_departments(document: dict) -> frozenset[str]:
    """Department codes a definition names: assignees, approvers and escalation (lead of),
    notifications, sub-tickets, start rules, and department values in conditions."""
    codes: set = set()
    for node in _items(document, "nodes"):
        for key in ("assignee", "approvers", "escalate_to"):
            codes |= _party_department(node.get(key))
        params = node.get("params") if isinstance(node.get("params"), dict) else {}
        codes |= _party_department(params.get("to"))
        if node.get("action") == "create_subticket":
            codes.add(str(params.get("department") or ""))
    for rule in _items(document, "start_rules"):
        codes.add(str(rule.get("department") or ""))
    for condition in _conditions(document):
        for leaf in leaves(condition):
            if leaf.get("field") == "department" and leaf.get("op") in ("==", "!=", "in"):
                value = leaf.get("value")
                codes.update(v for v in (value if isinstance(value, list) else [value])
                             if isinstance(v, str))
    return frozenset(c for c in codes if c)


def _party_department(party) -> set:
    if isinstance(party, dict) and party.get("kind") in ("department", "department_lead"):
        return {party["value"]} if isinstance(party.get("value"), str) else set()
    return set()


def used_fields(document: dict) -> frozenset[str]:
    """Field names a definition reads or writes: conditions, task forms, set_fields."""
    names: set = set()
    for condition in _conditions(document):
        names.update(str(leaf.get("field") or "") for leaf in leaves(condition))
    for node in _items(document, "nodes"):
        form = node.get("form") if isinstance(node.get("form"), list) else []
        names.update(str(e.get("field") or "") for e in form if isinstance(e, dict))
        params = node.get("params")
        if node.get("action") == "set_fields" and isinstance(params, dict) \
                and isinstance(params.get("fields"), dict):
            names.update(params["fields"])
    return frozenset(n for n in names if isinstance(n, str) and n)


def _items(document: dict, key: str) -> list[dict]:
    value = document.get(key) if isinstance(document, dict) else None
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _conditions(document: dict) -> list:
    return [e.get("condition") for e in _items(document, "edges")] + \
        [r.get("custom") for r in _items(document, "start_rules")]
