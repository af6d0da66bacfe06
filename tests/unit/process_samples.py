"""Process definition documents shared by the process rule tests."""
from __future__ import annotations

import copy
import json
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "appliance" / "processes"
EXAMPLES = ("after_sales_repair", "refund_approval", "scenic_peak_complaint")
# The demo's departments (appliance/demo_texts.py) and the two the scenic example adds.
DEPARTMENTS = frozenset({"CS", "AS", "LOG", "TECH", "FIN", "PARK", "SEC"})
# The demo's custom fields and the two the examples add.
CUSTOM_FIELDS = {"custom.order_no": "text", "custom.product_line": "select",
                 "custom.purchase_date": "date", "custom.qc_result": "select",
                 "custom.refund_amount": "number"}


def example(name: str) -> dict:
    return json.loads((EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def node(id_: str, type_: str, **more) -> dict:
    return {"id": id_, "type": type_, "label": id_, "x": 0, "y": 0, **more}


def edge(id_: str, from_: str, to: str, **more) -> dict:
    return {"id": id_, "from": from_, "to": to, **more}


def task(id_: str, department: str = "CS", **more) -> dict:
    return node(id_, "task", assignee={"kind": "department", "value": department}, **more)


def approval(id_: str, **more) -> dict:
    more.setdefault("approvers", {"kind": "department_lead", "value": "FIN"})
    return node(id_, "approval", **more)


def document(nodes: list, edges: list, **more) -> dict:
    return {"format": 1, "key": "sample", "name": {"zh": "样例", "en": "Sample"},
            "description": "", "nodes": nodes, "edges": edges, **more}


def sample() -> dict:
    """A valid definition with a task, a gateway, an approval and two ends:
    start → review → gw (custom.amount > 500: approve, else pay) ; approve → pay | end_no."""
    return copy.deepcopy(document(
        [node("start", "start"), task("review"), node("gw", "gateway"), approval("approve"),
         task("pay", "FIN"), node("end_ok", "end", outcome="resolved"),
         node("end_no", "end", outcome="rejected")],
        [edge("e1", "start", "review"), edge("e2", "review", "gw"),
         edge("e3", "gw", "approve", order=0,
              condition={"field": "custom.amount", "op": ">", "value": 500}),
         edge("e4", "gw", "pay", order=1),
         edge("e5", "approve", "pay", on="approved"),
         edge("e6", "approve", "end_no", on="rejected"),
         edge("e7", "pay", "end_ok")],
        start_rules=[{"category": "支付/退款", "channel": None, "department": None,
                      "custom": None}]))


def parallel() -> dict:
    """start → split → (a at LOG, b at FIN) → join → end."""
    return document(
        [node("start", "start"), node("split", "parallel_split"), task("a", "LOG"),
         task("b", "FIN"), node("join", "parallel_join"), node("end", "end", outcome="resolved")],
        [edge("e1", "start", "split"), edge("e2", "split", "a", order=0),
         edge("e3", "split", "b", order=1), edge("e4", "a", "join"), edge("e5", "b", "join"),
         edge("e6", "join", "end")])


def index(doc: dict, node_id: str) -> int:
    """Where a node stands in the document's list."""
    return next(i for i, n in enumerate(doc["nodes"]) if n["id"] == node_id)


def edge_index(doc: dict, edge_id: str) -> int:
    """Where an edge stands in the document's list."""
    return next(i for i, e in enumerate(doc["edges"]) if e["id"] == edge_id)


def with_action(action: str, params: dict) -> dict:
    """The sample with an action node between `pay` and `end_ok`."""
    doc = sample()
    doc["nodes"].append(node("act", "action", action=action, params=params))
    doc["edges"][edge_index(doc, "e7")]["to"] = "act"
    doc["edges"].append(edge("e8", "act", "end_ok"))
    return doc
