"""Process-definition problems in the admin's language.

The rules (appliance/rules/process_problems.py) give each problem a stable `code`, an
English message and the `params` of its placeholders; this table holds the same English
templates as translatable msgids, so a page shows the translated text filled from the
params. A test keeps the table in step with the rules' MESSAGES; a code missing here is
shown in English rather than not at all.
"""
from __future__ import annotations

from flask_babel import gettext

from webapp.messages import N_

PROBLEM_TEXT = {
    'not_object': N_('must be an object'),
    'not_list': N_('must be a list'),
    'not_text': N_('must be text'),
    'not_integer': N_('must be a whole number'),
    'not_number': N_('must be a number'),
    'not_boolean': N_('must be true or false'),
    'missing': N_('required'),
    'unknown_key': N_('unknown key %(key)s'),
    'too_long': N_('at most %(max)s characters'),
    'too_many': N_('at most %(max)s items'),
    'out_of_range': N_('must be between %(min)s and %(max)s'),
    'not_one_of': N_('must be one of: %(choices)s'),
    'unsupported_format': N_('unsupported format %(value)s (this version reads format 1)'),
    'bad_key': N_('2-64 lower-case letters, digits or _'),
    'bad_id': N_('1-64 letters, digits, _ or -'),
    'bad_username': N_('2-64 letters, digits or . _ @ -'),
    'name_missing': N_('give the process a name in Chinese or English'),
    'unknown_node_type': N_('unknown node type %(type)s'),
    'duplicate_id': N_('the id %(id)s is used more than once'),
    'unknown_department': N_('unknown department %(department)s'),
    'bad_url': N_('must be an http or https address without a user name or password'),
    'webhook_host_not_allowed': N_('%(host)s is not on the webhook allow-list'),
    'empty_group': N_('“%(group)s” needs at least one condition'),
    'condition_too_deep': N_('conditions nest at most %(max)s levels deep'),
    'condition_too_large': N_('a condition holds at most %(max)s comparisons'),
    'unknown_field': N_('unknown field %(field)s'),
    'field_not_writable': N_('%(field)s cannot be written by a process step'),
    'unknown_operator': N_('unknown operator %(op)s'),
    'operator_not_for_type': N_('%(op)s does not apply to %(field)s (a %(type)s field)'),
    'value_not_number': N_('%(field)s: “%(value)s” is not a number'),
    'value_not_date': N_('%(field)s: “%(value)s” is not a date (YYYY-MM-DD)'),
    'value_not_scalar': N_('%(field)s: the value must be text, a number or true/false'),
    'value_not_list': N_('%(field)s: “in” needs a list of values'),
    'value_not_text': N_('%(field)s: “%(op)s” needs text'),
    'unknown_choice': N_('%(field)s: “%(value)s” is not one of %(choices)s'),
    'is_empty_value': N_('“is_empty” takes true, false or no value'),
    'regex_not_text': N_('the pattern must be text'),
    'regex_too_long': N_('a pattern has at most %(max)s characters'),
    'regex_invalid': N_('not a valid regular expression: %(detail)s'),
    'regex_backreference': N_('back-references (\\1) are not allowed in patterns'),
    'regex_nested_quantifier': N_('a repeated group may not repeat inside (such as (a+)+)'),
    'regex_ambiguous_alternation': N_("a repeated group's alternatives must start differently"),
    'regex_too_slow':
        N_('this pattern could take too long; use fewer repeats of the same characters'),
    'no_start': N_('a process needs a start node'),
    'several_starts': N_('a process has one start node (%(other)s is one too)'),
    'no_end': N_('a process needs at least one end node'),
    'dangling_edge': N_('there is no node %(node)s'),
    'self_loop': N_('an edge cannot lead back to the node it leaves'),
    'start_has_incoming': N_('no edge may lead into the start node'),
    'end_has_outgoing': N_('an end node has no outgoing edges'),
    'no_outgoing': N_('no edge leaves this node'),
    'several_outgoing': N_('a %(type)s node has one outgoing edge; use a gateway to choose'),
    'unreachable': N_('cannot be reached from the start'),
    'no_path_to_end': N_('no path leads from here to an end'),
    'loop_without_exit':
        N_('the loop %(nodes)s has no way out (an edge of a gateway or approval leaving it)'),
    'approval_without_approvers': N_('an approval needs approvers'),
    'quorum_out_of_range': N_('quorum n must be between 1 and %(max)s'),
    'approval_outcome_unrouted': N_('no edge for the outcome %(outcome)s'),
    'on_required':
        N_('an edge from an approval says which outcome it follows (approved or rejected)'),
    'on_not_allowed': N_('only edges from an approval carry an outcome'),
    'condition_not_allowed': N_('only edges from a gateway or an approval carry a condition'),
    'gateway_without_default': N_('a gateway needs a default edge (one without a condition)'),
    'several_defaults': N_('only one default edge here (%(other)s is one too)'),
    'split_too_few': N_('a parallel split needs at least two outgoing edges'),
    'join_too_few': N_('a parallel join needs at least two incoming edges'),
    'join_without_split': N_('no parallel split is closed by this join'),
    'branch_never_joins': N_('the branch %(edge)s of this split does not reach its join'),
    'join_shared': N_('this join closes more than one split (%(splits)s)'),
}


def problem_message(code: str, message: str, params: dict | None) -> str:
    """The translated message of a problem, or its English text for an unknown code."""
    template = PROBLEM_TEXT.get(code)
    if template is None:
        return message
    try:
        return gettext(template, **{k: str(v) for k, v in (params or {}).items()})
    except (KeyError, ValueError, TypeError):
        return message


def problem_dicts(problems) -> list[dict]:
    """Problems (dataclasses or dicts) as JSON-ready dicts with translated messages."""
    out = []
    for p in problems or []:
        get = p.get if isinstance(p, dict) else (lambda k, d=None, p=p: getattr(p, k, d))
        params = get("params") or {}
        out.append({"path": get("path") or "", "code": get("code") or "",
                    "message": problem_message(get("code") or "", get("message") or "", params),
                    "params": {k: str(v) for k, v in params.items()}})
    return out
