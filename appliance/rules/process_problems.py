"""Problems found in a process definition: the dataclass and the message of each code.

The UI and the API show the same list. `message` is English; a translated page looks the
code up in `MESSAGES`, translates that template and fills it from `params`
(webapp/messages.py does this for the domain's other messages).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

MESSAGES: dict[str, str] = {
    # shapes and types
    "not_object": "must be an object",
    "not_list": "must be a list",
    "not_text": "must be text",
    "not_integer": "must be a whole number",
    "not_number": "must be a number",
    "not_boolean": "must be true or false",
    "missing": "required",
    "unknown_key": "unknown key %(key)s",
    "too_long": "at most %(max)s characters",
    "too_many": "at most %(max)s items",
    "out_of_range": "must be between %(min)s and %(max)s",
    "not_one_of": "must be one of: %(choices)s",
    "unsupported_format": "unsupported format %(value)s (this version reads format 1)",
    "bad_key": "2-64 lower-case letters, digits or _",
    "bad_id": "1-64 letters, digits, _ or -",
    "bad_username": "2-64 letters, digits or . _ @ -",
    "name_missing": "give the process a name in Chinese or English",
    "unknown_node_type": "unknown node type %(type)s",
    "duplicate_id": "the id %(id)s is used more than once",
    "unknown_department": "unknown department %(department)s",
    "bad_url": "must be an http or https address without a user name or password",
    "webhook_host_not_allowed": "%(host)s is not on the webhook allow-list",
    # conditions
    "empty_group": "“%(group)s” needs at least one condition",
    "condition_too_deep": "conditions nest at most %(max)s levels deep",
    "condition_too_large": "a condition holds at most %(max)s comparisons",
    "unknown_field": "unknown field %(field)s",
    "field_not_writable": "%(field)s cannot be written by a process step",
    "unknown_operator": "unknown operator %(op)s",
    "operator_not_for_type": "%(op)s does not apply to %(field)s (a %(type)s field)",
    "value_not_number": "%(field)s: “%(value)s” is not a number",
    "value_not_date": "%(field)s: “%(value)s” is not a date (YYYY-MM-DD)",
    "value_not_scalar": "%(field)s: the value must be text, a number or true/false",
    "value_not_list": "%(field)s: “in” needs a list of values",
    "value_not_text": "%(field)s: “%(op)s” needs text",
    "unknown_choice": "%(field)s: “%(value)s” is not one of %(choices)s",
    "is_empty_value": "“is_empty” takes true, false or no value",
    "regex_not_text": "the pattern must be text",
    "regex_too_long": "a pattern has at most %(max)s characters",
    "regex_invalid": "not a valid regular expression: %(detail)s",
    "regex_backreference": "back-references (\\1) are not allowed in patterns",
    "regex_nested_quantifier": "a repeated group may not repeat inside (such as (a+)+)",
    "regex_ambiguous_alternation": "a repeated group's alternatives must start differently",
    "regex_too_slow": "this pattern could take too long; use fewer repeats of the same characters",
    # the graph
    "no_start": "a process needs a start node",
    "several_starts": "a process has one start node (%(other)s is one too)",
    "no_end": "a process needs at least one end node",
    "dangling_edge": "there is no node %(node)s",
    "self_loop": "an edge cannot lead back to the node it leaves",
    "start_has_incoming": "no edge may lead into the start node",
    "end_has_outgoing": "an end node has no outgoing edges",
    "no_outgoing": "no edge leaves this node",
    "several_outgoing": "a %(type)s node has one outgoing edge; use a gateway to choose",
    "unreachable": "cannot be reached from the start",
    "no_path_to_end": "no path leads from here to an end",
    "loop_without_exit":
        "the loop %(nodes)s has no way out (an edge of a gateway or approval leaving it)",
    "approval_without_approvers": "an approval needs approvers",
    "quorum_out_of_range": "quorum n must be between 1 and %(max)s",
    "approval_outcome_unrouted": "no edge for the outcome %(outcome)s",
    "on_required": "an edge from an approval says which outcome it follows (approved or rejected)",
    "on_not_allowed": "only edges from an approval carry an outcome",
    "condition_not_allowed": "only edges from a gateway or an approval carry a condition",
    "gateway_without_default": "a gateway needs a default edge (one without a condition)",
    "several_defaults": "only one default edge here (%(other)s is one too)",
    "split_too_few": "a parallel split needs at least two outgoing edges",
    "join_too_few": "a parallel join needs at least two incoming edges",
    "join_without_split": "no parallel split is closed by this join",
    "branch_never_joins": "the branch %(edge)s of this split does not reach its join",
    "join_shared": "this join closes more than one split (%(splits)s)",
}
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Problem:
    """One thing wrong: where (a JSON path such as `nodes[3].approvers`), what (a stable
    `code` of MESSAGES), the English `message`, and the `params` of its placeholders."""
    path: str
    code: str
    message: str
    params: dict = field(default_factory=dict)


def problem(path: str, code: str, **params) -> Problem:
    """A Problem with its message filled from MESSAGES (params are shown as text)."""
    shown = {k: _shown(v) for k, v in params.items()}
    return Problem(path, code, MESSAGES[code] % shown, shown)


def _shown(value) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    return str(value)


def join_path(path: str, key) -> str:
    """`nodes` + 3 -> `nodes[3]`; `nodes[3]` + `label` -> `nodes[3].label`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key)
    if not _PLAIN_KEY.match(key):  # `params.fields["custom.amount"]`
        return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
    return f"{path}.{key}" if path else key
