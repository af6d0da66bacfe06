"""How the nodes of a process connect: the graph checks of validation (pure).

Starts and ends, edges that fit their source (outcomes only from approvals, conditions
only from gateways and approvals, one edge from a task), reachability both ways, loops
with no way out, and parallel splits matched with their joins: a split's branches must
all reach the same join (splits nested inside a branch close at their own join first),
and a join waits for one arrival per branch of the split it closes (`split_joins`).
"""
from __future__ import annotations

from collections import deque

from appliance.rules.process_problems import Problem, join_path, problem

DECISIONS = ("gateway", "approval")  # nodes whose edges may carry conditions or outcomes
SINGLE_EXIT = ("start", "task", "action", "parallel_join")
OUTCOMES = ("approved", "rejected")


def ordered_edges(edges: list, node_id: str) -> list[dict]:
    """The edges leaving a node, by `order` and then by their place in the list."""
    leaving = [(e.get("order") if isinstance(e.get("order"), int) else 0, i, e)
               for i, e in enumerate(edges) if isinstance(e, dict) and e.get("from") == node_id]
    return [e for _, _, e in sorted(leaving, key=lambda t: (t[0], t[1]))]


class Graph:
    """Well-formed nodes and edges of a definition, indexed for the checks."""

    def __init__(self, nodes: list[tuple[int, dict]], edges: list[tuple[int, dict]]):
        self.nodes = nodes
        self.kind = {n["id"]: n["type"] for _, n in nodes}
        self.path = {n["id"]: f"nodes[{i}]" for i, n in nodes}
        self.edges = [(i, e) for i, e in edges if e["from"] in self.kind and e["to"] in self.kind]
        self.out: dict[str, list[tuple[int, dict]]] = {n: [] for n in self.kind}
        self.into: dict[str, list[tuple[int, dict]]] = {n: [] for n in self.kind}
        for i, e in sorted(self.edges, key=lambda t: (_order(t[1]), t[0])):
            self.out[e["from"]].append((i, e))
            self.into[e["to"]].append((i, e))

    @classmethod
    def of(cls, document: dict) -> "Graph":
        """The graph of a document, skipping whatever is malformed."""
        nodes = [(i, n) for i, n in enumerate(_list(document, "nodes"))
                 if isinstance(n, dict) and isinstance(n.get("id"), str)
                 and isinstance(n.get("type"), str)]
        edges = [(i, e) for i, e in enumerate(_list(document, "edges"))
                 if isinstance(e, dict) and isinstance(e.get("from"), str)
                 and isinstance(e.get("to"), str)]
        return cls(nodes, edges)

    def ids(self, kind: str) -> list[str]:
        return [n for n, k in self.kind.items() if k == kind]

    def reachable(self, sources, forward: bool = True) -> set[str]:
        seen, todo = set(sources), deque(sources)
        while todo:
            node = todo.popleft()
            for _, e in (self.out if forward else self.into)[node]:
                nxt = e["to"] if forward else e["from"]
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen


def _list(document: dict, key: str) -> list:
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, list) else []


def _order(edge: dict) -> int:
    return edge.get("order") if isinstance(edge.get("order"), int) else 0


def check_graph(graph: Graph) -> list[Problem]:
    """Problems of how the nodes connect."""
    problems = _ends(graph) + _edge_fits(graph)
    for node, kind in graph.kind.items():
        problems += _exits(graph, node, kind)
    problems += _reachability(graph)
    return problems + _match_splits(graph)[1]


def _ends(graph: Graph) -> list[Problem]:
    starts, problems = graph.ids("start"), []
    if not starts:
        problems.append(problem("nodes", "no_start"))
    for extra in starts[1:]:
        problems.append(problem(graph.path[extra], "several_starts", other=starts[0]))
    if not graph.ids("end"):
        problems.append(problem("nodes", "no_end"))
    return problems


def _edge_fits(graph: Graph) -> list[Problem]:
    """Each edge against the node it leaves: outcomes, conditions, self-loops."""
    problems = []
    for i, e in graph.edges:
        source, path = graph.kind[e["from"]], f"edges[{i}]"
        if e["from"] == e["to"]:
            problems.append(problem(join_path(path, "to"), "self_loop"))
        if source == "approval" and e.get("on") not in OUTCOMES:
            problems.append(problem(join_path(path, "on"), "on_required"))
        if source != "approval" and e.get("on") is not None:
            problems.append(problem(join_path(path, "on"), "on_not_allowed"))
        if source not in DECISIONS and e.get("condition") is not None:
            problems.append(problem(join_path(path, "condition"), "condition_not_allowed"))
        if graph.kind[e["to"]] == "start":
            problems.append(problem(join_path(path, "to"), "start_has_incoming"))
    return problems


def _exits(graph: Graph, node: str, kind: str) -> list[Problem]:
    """The edges a node needs: none from an end, one from a task, a default from a gateway."""
    out, path = graph.out[node], graph.path[node]
    if kind == "end":
        return [problem(path, "end_has_outgoing")] if out else []
    if not out:
        return [problem(path, "no_outgoing")]
    if kind in SINGLE_EXIT and len(out) > 1:
        return [problem(path, "several_outgoing", type=kind)]
    if kind == "parallel_split" and len(out) < 2:
        return [problem(path, "split_too_few")]
    problems = []
    if kind == "parallel_join" and len(graph.into[node]) < 2:
        problems.append(problem(path, "join_too_few"))
    if kind == "gateway":
        problems += _defaults(out, path, required=True)
    if kind == "approval":
        for outcome in OUTCOMES:
            these = [(i, e) for i, e in out if e.get("on") == outcome]
            if not these:
                problems.append(problem(path, "approval_outcome_unrouted", outcome=outcome))
            elif any(e.get("condition") is not None for _, e in these):
                problems += _defaults(these, path, required=True)
    return problems


def _defaults(edges: list, path: str, required: bool) -> list[Problem]:
    defaults = [(i, e) for i, e in edges if e.get("condition") is None]
    if not defaults:
        return [problem(path, "gateway_without_default")] if required else []
    return [problem(f"edges[{i}].condition", "several_defaults", other=defaults[0][1].get("id"))
            for i, _ in defaults[1:]]


def _reachability(graph: Graph) -> list[Problem]:
    starts, ends = graph.ids("start"), graph.ids("end")
    reached = graph.reachable(starts[:1]) if starts else set(graph.kind)
    finishing = graph.reachable(ends, forward=False)
    problems, trapped = [], set()
    for loop in _components(graph):
        exits = [e for node in loop if graph.kind[node] in DECISIONS
                 for _, e in graph.out[node] if e["to"] not in loop]
        if not exits:
            ordered = [n["id"] for _, n in graph.nodes if n["id"] in loop]
            problems.append(problem(graph.path[ordered[0]], "loop_without_exit", nodes=ordered))
            trapped |= loop
    for _, node in graph.nodes:  # a dead end is reported as no_outgoing, not here
        nid = node["id"]
        if starts and nid not in reached:
            problems.append(problem(graph.path[nid], "unreachable"))
        elif ends and nid not in finishing and nid not in trapped and graph.out[nid]:
            problems.append(problem(graph.path[nid], "no_path_to_end"))
    return problems


def _components(graph: Graph) -> list[set[str]]:
    """Strongly connected components that hold a cycle (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph.kind:
        if root in index:
            continue
        work = [(root, iter([e["to"] for _, e in graph.out[root]]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            nxt = next(successors, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    found.append(_pop_component(node, stack, on_stack))
            elif nxt not in index:
                index[nxt] = low[nxt] = len(index)
                stack.append(nxt)
                on_stack.add(nxt)
                work.append((nxt, iter([e["to"] for _, e in graph.out[nxt]])))
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
    return [c for c in found if len(c) > 1 or any(
        e["to"] == next(iter(c)) for _, e in graph.out[next(iter(c))])]


def _pop_component(node: str, stack: list[str], on_stack: set[str]) -> set[str]:
    component = set()
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.add(member)
        if member == node:
            return component


def split_joins(document: dict) -> dict[str, str]:
    """Each parallel split's id -> the id of the join that closes it (well-formed ones)."""
    joins, _ = _match_splits(Graph.of(document))
    return joins


def _match_splits(graph: Graph) -> tuple[dict[str, str], list[Problem]]:
    matched: dict[str, str] = {}
    problems: list[Problem] = []
    closers: dict[str, list[str]] = {}
    limit = len(graph.ids("parallel_split")) + 1
    for split in graph.ids("parallel_split"):
        branches = [(i, e, _branch_end(graph, e["to"], limit)) for i, e in graph.out[split]]
        reached = [j for _, _, (joins, _) in branches for j in sorted(joins)]
        if not reached:
            join = None
        else:
            join = max(dict.fromkeys(reached), key=reached.count)
            matched[split] = join
            closers.setdefault(join, []).append(split)
        for i, e, (joins, leaks) in branches:
            if leaks or joins != {join}:
                problems.append(problem(f"edges[{i}]", "branch_never_joins", edge=e.get("id")))
    for join in graph.ids("parallel_join"):
        splits = closers.get(join, [])
        if not splits:
            problems.append(problem(graph.path[join], "join_without_split"))
        elif len(splits) > 1:
            problems.append(problem(graph.path[join], "join_shared", splits=splits))
    return matched, problems


def _branch_end(graph: Graph, first: str, limit: int) -> tuple[set[str], bool]:
    """The joins a branch reaches at its own level, and whether a path escapes (an end or
    a dead end before any join). Nested splits count down at their own joins."""
    joins, leaks = set(), False
    seen, todo = set(), [(first, 0)]
    while todo:
        node, depth = todo.pop()
        if (node, depth) in seen or depth > limit:
            continue
        seen.add((node, depth))
        kind = graph.kind[node]
        if kind == "parallel_join":
            if depth == 0:
                joins.add(node)
                continue
            depth -= 1
        elif kind == "parallel_split":
            depth += 1
        elif kind == "end" or not graph.out[node]:
            leaks = True
            continue
        todo += [(e["to"], depth) for _, e in graph.out[node]]
    return joins, leaks
