"""Conditions on process edges and start rules: evaluation and checking (pure).

A condition is None (always true), a group {"all": [...]} / {"any": [...]}, or a leaf
{"field": name, "op": op, "value": v}. Fields are the ticket fields of `FIELD_TYPES`,
`custom.<key>` and `process.<approval node id>.outcome`; `fields` may hold them flat
({"custom.amount": 600}) or nested ({"custom": {"amount": 600}}); a missing field is None.

How values compare (the same for every operator, so `==`, `in` and `contains` agree):
numbers given as text count as numbers ("600" > 500, "1,200.5", full-width "５００");
ISO dates and date-times compare as dates (a date against a date-time compares the day;
an offset-free time is taken as UTC); other text compares trimmed and case-insensitively
(NFKC, so full-width letters equal their ASCII forms). `contains` is a case-insensitive
substring test on text and a membership test on lists (multiselect fields); `in` holds
when the value (or any item of a list value) is one of the listed values; `<` and `>` on
anything but two numbers or two dates are false; `is_empty` holds for None, blank text
and empty lists, and with "value": false means "is not empty"; `matches` searches a
regular expression (see rules/safe_regex.py for its bounds) in the first 500 characters.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

from appliance.rules import safe_regex
from appliance.rules.process_problems import Problem, join_path, problem

OPERATORS = ("==", "!=", "contains", "matches", "<", ">", "in", "is_empty")
# Ticket fields conditions may use, by type; custom fields bring their kind as type.
FIELD_TYPES: dict[str, str] = {
    "status": "select", "priority": "number", "urgency": "select", "channel": "select",
    "category": "text", "department": "text", "assignee": "text", "language": "select",
    "sentiment": "select", "subject": "text",
}
# The values some of them may take (rules/states.py, rules/sentiment.py), so that a typo
# such as "closd" is caught; "" is an unset value, not offered as a choice.
FIELD_CHOICES: dict[str, tuple] = {
    "status": ("new", "open", "pending_customer", "pending_internal", "resolved", "closed"),
    "urgency": ("low", "medium", "high"), "channel": ("web", "email", "phone", "chat", "api"),
    "sentiment": ("negative", "neutral", "positive", ""),
}
OUTCOMES = ("approved", "rejected")
TYPE_OPERATORS: dict[str, frozenset] = {
    "text": frozenset({"==", "!=", "contains", "matches", "in", "is_empty"}),
    "select": frozenset({"==", "!=", "contains", "matches", "in", "is_empty"}),
    "number": frozenset({"==", "!=", "<", ">", "in", "is_empty"}),
    "date": frozenset({"==", "!=", "<", ">", "in", "is_empty"}),
    "multiselect": frozenset({"contains", "in", "is_empty"}),
}
MAX_DEPTH = 8
MAX_LEAVES = 100
MAX_LIST = 200
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def evaluate(condition: dict | None, fields: dict) -> bool:
    """Whether the condition holds for these field values.

    Raises ValueError for a malformed condition or a refused regular expression
    (a validated definition has neither)."""
    if condition is None:
        return True
    if not isinstance(condition, dict):
        raise ValueError("a condition is an object")
    for key, combine in (("all", all), ("any", any)):
        if key in condition:
            if not isinstance(condition[key], list):
                raise ValueError(f"“{key}” takes a list of conditions")
            return combine(evaluate(c, fields) for c in condition[key])
    op = condition.get("op")
    if not isinstance(op, str) or op not in _TESTS:
        raise ValueError(f"unknown operator {op!r}")
    return _TESTS[op](field_value(fields, condition.get("field")), condition.get("value"))


def field_value(fields: dict, name):
    """The value of a field by full name, flat or nested under its dotted parts."""
    if not isinstance(name, str):
        return None
    if name in fields:
        return fields[name]
    value = fields
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def is_empty(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple, dict, set)) and not value


def as_number(value) -> float | None:
    """A finite number from a number or numeric text, else None (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_date(value) -> dt.date | dt.datetime | None:
    """A date or naive-UTC date-time from a date object or ISO text, else None."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return value
    elif isinstance(value, str) and len(value.strip()) >= 10:
        text = unicodedata.normalize("NFKC", value).strip()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _text(value) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


def compare(a, b) -> int | None:
    """-1, 0 or 1 for two numbers or two dates; 0 or None (unordered) for equal text or not."""
    if isinstance(a, bool) or isinstance(b, bool):
        flag, other = (a, b) if isinstance(a, bool) else (b, a)
        return 0 if _text(other) in _truths(flag) else None
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return (x > y) - (x < y)
    d, e = as_date(a), as_date(b)
    if d is not None and e is not None:
        if not (isinstance(d, dt.datetime) and isinstance(e, dt.datetime)):
            d, e = _day(d), _day(e)
        return (d > e) - (d < e)
    if a is None or b is None or isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return None
    return 0 if _text(a) == _text(b) else None


def _truths(flag: bool) -> tuple[str, ...]:
    return ("true", "1", "yes") if flag else ("false", "0", "no")


def _day(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _equal(actual, expected) -> bool:
    if expected is None:
        return is_empty(actual)
    if isinstance(actual, (list, tuple)):
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        return ({_text(v) for v in actual} == {_text(v) for v in expected})
    return compare(actual, expected) == 0


def _contains(actual, expected) -> bool:
    if isinstance(expected, (list, tuple)):
        return bool(expected) and all(_contains(actual, v) for v in expected)
    if actual is None or expected is None:
        return False
    if isinstance(actual, (list, tuple, set)):
        return any(compare(item, expected) == 0 for item in actual)
    return _text(expected) in _text(actual)


def _in(actual, expected) -> bool:
    options = expected if isinstance(expected, (list, tuple)) else [expected]
    values = actual if isinstance(actual, (list, tuple, set)) else [actual]
    return any(v is not None and compare(v, o) == 0 for v in values for o in options)


def _ordered(sign: int):
    def test(actual, expected) -> bool:
        return compare(actual, expected) == sign
    return test


def _matches(actual, expected) -> bool:
    try:
        return actual is not None and safe_regex.search(expected, actual)
    except safe_regex.UnsafePattern as exc:
        raise ValueError(f"regular expression refused ({exc.code})") from None


def _is_empty_test(actual, expected) -> bool:
    return is_empty(actual) if expected is None or expected is True else not is_empty(actual)


_TESTS = {
    "==": _equal, "!=": lambda a, e: not _equal(a, e), "contains": _contains,
    "matches": _matches, "<": _ordered(-1), ">": _ordered(1), "in": _in,
    "is_empty": _is_empty_test,
}


def leaves(condition):
    """Every comparison {"field", "op", "value"} of a condition, depth first."""
    if not isinstance(condition, dict):
        return
    for key in ("all", "any"):
        if isinstance(condition.get(key), list):
            for item in condition[key]:
                yield from leaves(item)
            return
    yield condition


def describe(condition: dict | None) -> str:
    """The condition as one readable line: `custom.amount > 500 and (a == 1 or b is empty)`."""
    if condition is None:
        return "always"
    if not isinstance(condition, dict):
        return str(condition)
    for key, word in (("all", " and "), ("any", " or ")):
        if key in condition:
            parts = [_grouped(c) for c in condition[key]]
            return word.join(parts) if parts else ("always" if key == "all" else "never")
    name, op = condition.get("field"), condition.get("op")
    if op == "is_empty":
        return f"{name} is {'not ' if condition.get('value') is False else ''}empty"
    return f"{name} {op} {_shown(condition.get('value'))}"


def _grouped(condition) -> str:
    group = condition.get("all", condition.get("any")) if isinstance(condition, dict) else None
    text = describe(condition)
    return f"({text})" if isinstance(group, list) and len(group) > 1 else text


def _shown(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return "null" if value is None else str(value)


def check_condition(condition, known_fields: dict[str, str], path: str = "") -> list[Problem]:
    """Problems of a condition, each with its path below `path` (`all[0].any[1].value`).

    `known_fields` maps full field names to types (text number date select multiselect);
    the ticket fields of FIELD_TYPES are always known. None is a valid condition."""
    if condition is None:
        return []
    types = {**FIELD_TYPES, **known_fields}
    problems: list[Problem] = []
    count = _check_node(condition, types, path, 1, problems)
    if count > MAX_LEAVES:
        problems.append(problem(path, "condition_too_large", max=MAX_LEAVES))
    return problems


def _check_node(node, types: dict, path: str, depth: int, problems: list) -> int:
    """Append the problems of one node and return how many comparisons it holds."""
    if depth > MAX_DEPTH:
        problems.append(problem(path, "condition_too_deep", max=MAX_DEPTH))
        return 0
    if not isinstance(node, dict):
        problems.append(problem(path, "not_object"))
        return 0
    group = [k for k in ("all", "any") if k in node]
    if group:
        return _check_group(node, group[0], types, path, depth, problems)
    problems += _check_leaf(node, types, path)
    return 1


def _check_group(node: dict, key: str, types: dict, path: str, depth: int, problems: list) -> int:
    for extra in sorted(set(node) - {key}):
        problems.append(problem(join_path(path, extra), "unknown_key", key=extra))
    items, here = node[key], join_path(path, key)
    if not isinstance(items, list):
        problems.append(problem(here, "not_list"))
        return 0
    if not items:
        problems.append(problem(here, "empty_group", group=key))
    return sum(_check_node(item, types, join_path(here, i), depth + 1, problems)
               for i, item in enumerate(items))


def _check_leaf(leaf: dict, types: dict, path: str) -> list[Problem]:
    problems = [problem(join_path(path, k), "unknown_key", key=k)
                for k in sorted(set(leaf) - {"field", "op", "value"})]
    name, op = leaf.get("field"), leaf.get("op")
    if not isinstance(name, str) or not name:
        return problems + [problem(join_path(path, "field"), "missing")]
    if name not in types:
        return problems + [problem(join_path(path, "field"), "unknown_field", field=name)]
    if op not in OPERATORS:
        return problems + [problem(join_path(path, "op"), "unknown_operator", op=op)]
    kind = types[name]
    if op not in TYPE_OPERATORS.get(kind, frozenset(OPERATORS)):
        return problems + [problem(join_path(path, "op"), "operator_not_for_type",
                                   op=op, field=name, type=kind)]
    found = _value_problem(name, kind, op, leaf.get("value"))
    if found:
        problems.append(problem(join_path(path, "value"), found[0], **found[1]))
    return problems


def _value_problem(name: str, kind: str, op: str, value) -> tuple[str, dict] | None:
    if op == "is_empty":
        return None if value is None or isinstance(value, bool) else ("is_empty_value", {})
    if op == "matches":
        found = safe_regex.pattern_problem(value)
        if found is None:
            return None
        return found[0], ({"detail": found[1]} if found[0] == "regex_invalid" else
                          {"max": safe_regex.MAX_PATTERN} if found[0] == "regex_too_long" else {})
    if op == "in":
        if not isinstance(value, list) or not value:
            return "value_not_list", {"field": name}
        if len(value) > MAX_LIST:
            return "too_many", {"max": MAX_LIST}
        return next(filter(None, (check_value(name, kind, v) for v in value)), None)
    if op == "contains":
        ok = isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != ""
        return None if ok else ("value_not_text", {"field": name, "op": op})
    if op in ("<", ">") and kind not in ("number", "date"):
        ok = as_number(value) is not None or as_date(value) is not None
        return None if ok else ("value_not_number", {"field": name, "value": value})
    if value is None:  # "== null" reads as "is empty"
        return None
    return check_value(name, kind, value)


def check_value(name: str, kind: str, value) -> tuple[str, dict] | None:
    """(code, params) when a single value does not suit a field of this type, else None."""
    if isinstance(value, (list, dict)) or value is None:
        return "value_not_scalar", {"field": name}
    if kind == "number" and as_number(value) is None:
        return "value_not_number", {"field": name, "value": value}
    if kind == "date" and as_date(value) is None:
        return "value_not_date", {"field": name, "value": value}
    choices = OUTCOMES if name.startswith("process.") else FIELD_CHOICES.get(name)
    if choices and not any(compare(value, c) == 0 for c in choices if c != ""):
        return "unknown_choice", {"field": name, "value": value,
                                  "choices": [c for c in choices if c]}
    return None
