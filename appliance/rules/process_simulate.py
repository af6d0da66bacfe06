"""Dry-run of a process definition: the path a ticket with given fields would take (pure).

Routing is `process_definition.next_edges`, the engine's own. Tasks, approvals and wait
actions are shown as "would wait …" and passed at once; an approval takes the outcome
given for it (approved when none is given, and the step says so); `set_fields` writes
the fields later conditions see, and an approval writes `process.<id>.outcome`. Parallel
branches run in turn, one step each, and a join goes on once every branch of its split
has arrived. A loop that never leaves ends with status "stopped" at `max_steps`.

Every text is English and also kept as (code, params) of `MESSAGES` in `SimStep.texts`
and `Simulation.reason_text`, so a page can show it translated.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from appliance.rules.process_conditions import describe
from appliance.rules.process_definition import next_edges, node_of, ordered_edges, split_joins

MESSAGES: dict[str, str] = {
    "approval_given": "approval: %(outcome)s",
    "approval_assumed": "approval: approved (assumed: no outcome given)",
    "condition_holds": "%(condition)s holds",
    "default": "default",
    "default_after": "default: none holds: %(conditions)s",
    "nothing_holds": "none holds: %(conditions)s, and there is no default",
    "split": "parallel split: %(n)s branches",
    "join_done": "all %(n)s branches arrived",
    "end": "end: %(outcome)s",
    "wait_task": "would wait for %(who)s to complete the task",
    "wait_approval": "would wait for approval by %(who)s",
    "wait_branches": "would wait for the other branches (%(arrived)s of %(n)s arrived)",
    "wait_minutes": "would wait %(minutes)s minutes",
    "wait_event": "would wait for %(event)s",
    "wait_subticket": "would wait for the sub-ticket to be resolved",
    "do_set": "would set %(fields)s",
    "do_note": "would add a note",
    "do_notify": "would notify %(who)s",
    "do_subticket": "would create a sub-ticket for %(department)s",
    "do_webhook": "would call the webhook %(url)s",
    "do_other": "would run %(action)s",
    "ended": "ended at %(node)s (%(outcome)s)",
    "stopped": "stopped: step limit (%(n)s steps)",
    "stuck_no_start": "stuck: there is no start node",
    "stuck_no_node": "stuck: there is no node %(node)s",
    "stuck_no_edge": "stuck at %(node)s: no edge to follow",
    "stuck_no_default": "stuck at %(node)s: no condition holds and there is no default",
    "stuck_join": "stuck at %(node)s: waits for branches that never arrive",
    "stuck_no_end": "stuck: no end was reached",
    "stuck_bad_condition": "stuck at %(node)s: a condition cannot be evaluated (%(error)s)",
}


@dataclass
class SimStep:
    number: int                 # 1, 2, … in the order the steps run
    node_id: str
    node_type: str
    label: str
    branch: str                 # "" on the main path; "e3" in the branch of split edge e3
    decided_by: str = ""        # why the next edge: condition text, approval outcome, default
    next_nodes: tuple[str, ...] = ()
    waits: str = ""             # "would wait …" where the engine would pause
    action: str = ""            # what an action node would do
    sets: dict = field(default_factory=dict)  # fields it would set, seen by later conditions
    # "decided_by" / "waits" / "action" -> [(code of MESSAGES, params)], joined by "; "
    texts: dict = field(default_factory=dict)


@dataclass
class Simulation:
    steps: list[SimStep]
    status: str                 # "ended" | "stopped" | "stuck"
    reason: str                 # "ended at end_ok (resolved)", "stopped: step limit (200 steps)"
    end_node: str | None = None
    outcome: str | None = None  # the end node's outcome: resolved | rejected
    fields: dict = field(default_factory=dict)  # the fields at the end, with what was set
    reason_text: tuple = ()     # (code of MESSAGES, params) of `reason`


def say(step: SimStep, slot: str, code: str, **params) -> None:
    """Add one text to a step's slot (decided_by, waits or action), English and coded."""
    shown = {k: str(v) for k, v in params.items()}
    step.texts.setdefault(slot, []).append((code, shown))
    setattr(step, slot, "; ".join(MESSAGES[c] % p for c, p in step.texts[slot]))


class _Stop(Exception):
    def __init__(self, status: str, code: str, **params):
        super().__init__(code)
        self.status, self.code, self.params = status, code, {k: str(v) for k, v in params.items()}


def simulate(document: dict, fields: dict, outcomes: dict[str, str] | None = None,
             max_steps: int = 200) -> Simulation:
    """Run the definition for a ticket with these fields; `outcomes` maps approval node
    ids to "approved" or "rejected". A draft with problems runs as far as it can."""
    return _Run(document, fields, outcomes or {}).run(max(1, int(max_steps)))


class _Run:
    def __init__(self, document: dict, fields: dict, outcomes: dict):
        self.document, self.outcomes = _runnable(document), outcomes
        document = self.document
        self.edges = document["edges"]
        self.values = dict(fields)
        self.steps: list[SimStep] = []
        self.queue: deque = deque()
        self.closes = {join: split for split, join in split_joins(document).items()}
        self.split_branch: dict[str, str] = {}
        self.arrived: dict[str, list[str]] = {}
        self.end: tuple[str, str] | None = None

    def run(self, max_steps: int) -> Simulation:
        try:
            self._walk(max_steps)
        except _Stop as stop:
            return self._result(stop)
        waiting = [j for j, arrivals in self.arrived.items() if arrivals]
        if waiting:
            return self._result(_Stop("stuck", "stuck_join", node=waiting[0]))
        if self.end is None:
            return self._result(_Stop("stuck", "stuck_no_end"))
        return self._result(_Stop("ended", "ended", node=self.end[0], outcome=self.end[1]))

    def _walk(self, max_steps: int) -> None:
        starts = [n["id"] for n in self.document["nodes"] if n["type"] == "start"]
        if not starts:
            raise _Stop("stuck", "stuck_no_start")
        self.queue.append((starts[0], ""))
        while self.queue:
            if len(self.steps) >= max_steps:
                raise _Stop("stopped", "stopped", n=max_steps)
            self._visit(*self.queue.popleft())

    def _result(self, stop: _Stop) -> Simulation:
        end_node, outcome = self.end or (None, None)
        return Simulation(self.steps, stop.status, MESSAGES[stop.code] % stop.params, end_node,
                          outcome, self.values, (stop.code, stop.params))

    def _visit(self, node_id: str, branch: str) -> None:
        node = node_of(self.document, node_id)
        if node is None:
            raise _Stop("stuck", "stuck_no_node", node=node_id)
        kind = node.get("type", "")
        step = SimStep(len(self.steps) + 1, node_id, kind, str(node.get("label") or ""), branch)
        self.steps.append(step)
        visit = {"task": self._task, "approval": self._approval, "gateway": self._gateway,
                 "parallel_split": self._parallel_split, "parallel_join": self._parallel_join,
                 "action": self._action, "end": self._end}.get(kind, self._plain)
        try:
            edges = visit(node, step)
        except ValueError as exc:  # an unvalidated draft: a bad operator or pattern
            raise _Stop("stuck", "stuck_bad_condition", node=node_id, error=exc) from None
        if edges is None:  # a join still waiting, or an end
            return
        if not edges:
            raise _Stop("stuck", "stuck_no_edge", node=node_id)
        step.next_nodes = tuple(e.get("to") for e in edges)
        for e in edges:
            child = (f"{branch}.{e.get('id')}" if branch else str(e.get("id"))) \
                if kind == "parallel_split" else step.branch
            self.queue.append((e.get("to"), child))

    def _plain(self, node: dict, step: SimStep) -> list[dict]:
        return next_edges(self.document, node["id"], self.values)

    def _task(self, node: dict, step: SimStep) -> list[dict]:
        say(step, "waits", "wait_task", who=_party(node.get("assignee")))
        return self._plain(node, step)

    def _approval(self, node: dict, step: SimStep) -> list[dict]:
        outcome = self.outcomes.get(node["id"])
        if outcome:
            say(step, "decided_by", "approval_given", outcome=outcome)
        else:
            say(step, "decided_by", "approval_assumed")
        outcome = outcome or "approved"
        say(step, "waits", "wait_approval", who=_party(node.get("approvers")))
        self.values[f"process.{node['id']}.outcome"] = outcome
        edges = next_edges(self.document, node["id"], self.values, outcome)
        tried = [e for e in ordered_edges(self.edges, node["id"]) if e.get("on") == outcome]
        if any(e.get("condition") is not None for e in tried):
            _why(step, edges, tried)
        return edges

    def _gateway(self, node: dict, step: SimStep) -> list[dict]:
        edges = self._plain(node, step)
        _why(step, edges, ordered_edges(self.edges, node["id"]))
        if not edges:
            raise _Stop("stuck", "stuck_no_default", node=node["id"])
        return edges

    def _parallel_split(self, node: dict, step: SimStep) -> list[dict]:
        self.split_branch[node["id"]] = step.branch
        edges = self._plain(node, step)
        say(step, "decided_by", "split", n=len(edges))
        return edges

    def _parallel_join(self, node: dict, step: SimStep) -> list[dict] | None:
        split = self.closes.get(node["id"])
        need = len(ordered_edges(self.edges, split)) if split else \
            sum(1 for e in self.edges if e["to"] == node["id"])
        arrived = self.arrived.setdefault(node["id"], [])
        arrived.append(step.branch)
        if len(arrived) < need:
            say(step, "waits", "wait_branches", arrived=len(arrived), n=need)
            return None
        self.arrived[node["id"]] = []
        step.branch = self.split_branch.get(split, step.branch.rpartition(".")[0])
        say(step, "decided_by", "join_done", n=need)
        return self._plain(node, step)

    def _action(self, node: dict, step: SimStep) -> list[dict]:
        params = node.get("params") if isinstance(node.get("params"), dict) else {}
        action = node.get("action")
        if action == "set_fields" and isinstance(params.get("fields"), dict):
            step.sets = dict(params["fields"])
            self.values.update(step.sets)
        _describe_action(step, action, params)
        return self._plain(node, step)

    def _end(self, node: dict, step: SimStep) -> None:
        self.end = (node["id"], str(node.get("outcome") or ""))
        say(step, "decided_by", "end", outcome=self.end[1])


def _runnable(document) -> dict:
    """The nodes and edges of a (possibly unfinished) draft that can be walked at all."""
    document = document if isinstance(document, dict) else {}
    nodes = document.get("nodes") if isinstance(document.get("nodes"), list) else []
    edges = document.get("edges") if isinstance(document.get("edges"), list) else []
    return {"nodes": [n for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)
                      and isinstance(n.get("type"), str)],
            "edges": [e for e in edges if isinstance(e, dict) and isinstance(e.get("from"), str)
                      and isinstance(e.get("to"), str)]}


def _why(step: SimStep, chosen: list[dict], tried: list[dict]) -> None:
    """The condition that held, or the default and the conditions that did not hold."""
    if chosen and chosen[0].get("condition") is not None:
        say(step, "decided_by", "condition_holds", condition=describe(chosen[0]["condition"]))
        return
    failed = "; ".join(describe(e["condition"]) for e in tried if e.get("condition") is not None)
    if not chosen:
        say(step, "decided_by", "nothing_holds", conditions=failed)
    elif failed:
        say(step, "decided_by", "default_after", conditions=failed)
    else:
        say(step, "decided_by", "default")


def _party(party) -> str:
    if not isinstance(party, dict):
        return "?"
    value = party.get("value")
    if isinstance(value, list):  # several users
        value = ", ".join(str(v) for v in value)
    return f"{party.get('kind')} {value}" if value not in (None, "") else str(party.get("kind"))


def _describe_action(step: SimStep, action, params: dict) -> None:
    """What the action would do, and what it would wait for."""
    if action == "set_fields":
        say(step, "action", "do_set", fields=", ".join(sorted(params.get("fields") or {})))
    elif action == "add_note":
        say(step, "action", "do_note")
    elif action == "notify":
        say(step, "action", "do_notify", who=_party(params.get("to")))
    elif action == "create_subticket":
        say(step, "action", "do_subticket", department=params.get("department"))
        if params.get("wait"):
            say(step, "waits", "wait_subticket")
    elif action == "webhook":
        say(step, "action", "do_webhook", url=params.get("url"))
    elif action == "wait_timer":
        say(step, "waits", "wait_minutes", minutes=params.get("minutes"))
    elif action == "wait_event":
        say(step, "waits", "wait_event", event=params.get("event"))
    else:
        say(step, "action", "do_other", action=action)
