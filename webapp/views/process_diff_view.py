"""The version diff (appliance/rules/process_diff.py) as rows for the history page: what
changed in the admin's language, each changed key with its old and new value (as
compact JSON, since that is what is stored), and moves shown apart from edits."""
from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l

from appliance.rules.process_conditions import describe

CHANGE_LABELS = {"added": _l("added"), "removed": _l("removed"), "changed": _l("changed"),
                 "moved": _l("moved")}
KIND_LABELS = {"process": _l("Process"), "start_rules": _l("Start rules"), "node": _l("Node"),
               "edge": _l("Connection")}
MAX_VALUE = 400


def _shown(key: str, value) -> str:
    if key == "condition" and (value is None or isinstance(value, dict)):
        try:
            return "—" if value is None else describe(value)
        except (AttributeError, TypeError, ValueError):
            pass
    if value is None:
        return "—"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _summary(kind: str, item: dict) -> str:
    if not isinstance(item, dict):
        return ""
    if kind == "node":
        return " ".join(str(x) for x in (item.get("type"), item.get("label")) if x)
    if kind == "edge":
        text = f"{item.get('from')} → {item.get('to')}"
        if item.get("on"):
            text += f" [{item['on']}]"
        if item.get("condition") is not None:
            text += f" {_shown('condition', item['condition'])}"
        return text
    return _shown("", item)


def diff_rows(lines) -> list[dict]:
    rows = []
    for line in lines:
        row = {"change": line.change,
               "change_label": str(CHANGE_LABELS.get(line.change, line.change)),
               "kind": line.kind, "kind_label": str(KIND_LABELS.get(line.kind, line.kind)),
               "id": line.id, "changes": [], "summary": ""}
        if line.change == "added":
            row["summary"] = _summary(line.kind, line.after)
        elif line.change == "removed":
            row["summary"] = _summary(line.kind, line.before)
        else:
            row["changes"] = [{"key": k, "before": _shown(k, line.before.get(k)),
                            "after": _shown(k, line.after.get(k))} for k in line.keys]
        rows.append(row)
    return rows
