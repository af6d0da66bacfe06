"""A readable diff of two versions of a process definition, by node and edge id (pure).

Lines come in a fixed order: the process itself (key, name, description, format), its
start rules, then nodes and edges sorted by id; a node both edited and dragged gives a
"changed" line and a separate "moved" line, so layout-only edits are easy to skip. The
order of the lists in the documents does not matter.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from appliance.rules.process_conditions import describe

LAYOUT_KEYS = ("x", "y")
PROCESS_KEYS = ("format", "key", "name", "description")


@dataclass
class DiffLine:
    kind: str                  # "process" | "start_rules" | "node" | "edge"
    id: str                    # node/edge id; the process key for "process"; "" for rules
    change: str                # "added" | "removed" | "changed" | "moved"
    keys: tuple[str, ...] = ()                    # what differs (changed, moved)
    before: dict = field(default_factory=dict)    # old values of `keys`; the item if removed
    after: dict = field(default_factory=dict)     # new values of `keys`; the item if added
    text: str = ""             # one English line: 'node review changed: label "A" → "B"'


def diff(old: dict, new: dict) -> list[DiffLine]:
    """What changed from `old` to `new`, one line per item and kind of change."""
    old, new = old or {}, new or {}
    return (_process(old, new) + _start_rules(old, new)
            + _items("node", old.get("nodes"), new.get("nodes"))
            + _items("edge", old.get("edges"), new.get("edges")))


def _process(old: dict, new: dict) -> list[DiffLine]:
    keys = tuple(k for k in PROCESS_KEYS if old.get(k) != new.get(k))
    if not keys:
        return []
    ident = str(new.get("key") or old.get("key") or "")
    return [_changed("process", ident, keys, old, new)]


def _start_rules(old: dict, new: dict) -> list[DiffLine]:
    before, after = old.get("start_rules") or [], new.get("start_rules") or []
    if before == after:
        return []
    return [DiffLine("start_rules", "", "changed", ("start_rules",), {"start_rules": before},
                     {"start_rules": after},
                     f"start rules changed: {_shown(before)} → {_shown(after)}")]


def _by_id(items) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            found.setdefault(item["id"], item)
    return found


def _items(kind: str, old_items, new_items) -> list[DiffLine]:
    old, new = _by_id(old_items), _by_id(new_items)
    lines: list[DiffLine] = []
    for ident in sorted(set(old) | set(new)):
        before, after = old.get(ident), new.get(ident)
        if before is None:
            lines.append(DiffLine(kind, ident, "added", after=after,
                                  text=f"{kind} {ident} added: {_summary(kind, after)}"))
        elif after is None:
            lines.append(DiffLine(kind, ident, "removed", before=before,
                                  text=f"{kind} {ident} removed: {_summary(kind, before)}"))
        else:
            lines += _edited(kind, ident, before, after)
    return lines


def _edited(kind: str, ident: str, before: dict, after: dict) -> list[DiffLine]:
    differ = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    content = tuple(k for k in differ if k not in LAYOUT_KEYS)
    layout = tuple(k for k in LAYOUT_KEYS if k in differ)
    lines = [_changed(kind, ident, content, before, after)] if content else []
    if layout:
        was = (before.get("x"), before.get("y"))
        now = (after.get("x"), after.get("y"))
        lines.append(DiffLine(kind, ident, "moved", layout,
                              {k: before.get(k) for k in layout}, {k: after.get(k) for k in layout},
                              f"{kind} {ident} moved: ({was[0]}, {was[1]}) → ({now[0]}, {now[1]})"))
    return lines


def _changed(kind: str, ident: str, keys: tuple, before: dict, after: dict) -> DiffLine:
    parts = [f"{k} {_value(k, before)} → {_value(k, after)}" for k in keys]
    label = f"{kind} {ident}" if kind != "process" else "process"
    return DiffLine(kind, ident, "changed", keys, {k: before.get(k) for k in keys},
                    {k: after.get(k) for k in keys}, f"{label} changed: " + "; ".join(parts))


def _summary(kind: str, item: dict) -> str:
    if kind == "node":
        label = f' "{item["label"]}"' if item.get("label") else ""
        return f"{item.get('type')}{label}"
    text = f"{item.get('from')} → {item.get('to')}"
    if item.get("on"):
        text += f" on {item['on']}"
    if item.get("condition") is not None:
        text += f" if {describe(item['condition'])}"
    return text


def _value(key: str, item: dict) -> str:
    if key not in item:
        return "(none)"
    if key == "condition":
        return "(none)" if item[key] is None else describe(item[key])
    return _shown(item[key])


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
