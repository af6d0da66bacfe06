"""Words for the dispatch admin pages: labels of strategies, score components, weekdays
and absence kinds, the sentences of the health check, and the translation of the
dispatch services' messages (which speak plain English, like every service)."""
from __future__ import annotations

import re

from flask_babel import gettext, lazy_gettext as _l

from webapp import messages
from webapp.messages import N_

STRATEGY_LABELS = {"skills": _l("Best match (skills, load, efficiency…)"),
                   "least_loaded": _l("Least loaded first"),
                   "round_robin": _l("Round robin")}
COMPONENT_LABELS = {"skill": _l("Skill level"), "load": _l("Free capacity"),
                    "efficiency": _l("Efficiency in the category"),
                    "language": _l("Speaks the ticket's language"),
                    "continuity": _l("Served the customer before"),
                    "fairness": _l("Fair share of new tickets")}
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
ABSENCE_LABELS = {"break": _l("Break"), "leave": _l("Leave"), "training": _l("Training")}

PROBLEMS = {
    "agent_without_department": N_("%(name)s has no department, so no tickets are routed "
                                   "to them."),
    "department_without_agents": N_("%(department)s assigns tickets automatically but has no "
                                    "active agents."),
    "required_skill_missing": N_("Category %(category)s needs the skill %(skill)s at level "
                                 "%(min_level)s, but no agent of %(department)s has it."),
    "skill_on_inactive_category": N_("The inactive category %(category)s still requires the "
                                     "skill %(skill)s."),
    "overflow_cycle": N_("Overflow departments form a loop: %(departments)s."),
    "tickets_waiting_unroutable.no_agents": N_("%(count)s tickets wait in %(department)s "
                                               "because it has no agents."),
    "tickets_waiting_unroutable.nobody_qualified": N_(
        "%(count)s tickets wait in %(department)s because none of its agents has the skills "
        "or permissions they need."),
}

FIXED = {m: _l(m) for m in (
    N_("at least one weight must be greater than 0"), N_("must be between 0 and 100"),
    N_("must be a number greater than 0 and at most 10"),
    N_("must be an object of component: number"), N_("must be true or false"),
    N_("must be an active agent or supervisor of the department, or an administrator"),
    N_("cannot be the department itself"),
    N_("the agent is in no department, so routing can never reach them: set a department on "
       "the user's page first"),
    N_("must be a time HH:MM"), N_("must differ from the start"),
    N_("must be 0 (Monday) to 6 (Sunday)"), N_("must be an object with weekday, start and end"),
    N_("must be a list of {weekday, start, end}"),
    N_("language codes are 2-8 letters a-z or - (zh, en, ja)"),
    N_("tiers are 1-32 characters without spaces or commas (vip, vip-gold, *)"),
    N_("must be after the start"), N_("must be a list of ids"),
    N_("must be a list of {skill_id, min_level}"), N_("listed twice"),
    N_("the category is inactive; activate it before it requires skills"),
    N_("the dispatch policy was changed by someone else; reload and try again"),
    N_("the dispatch profile was changed by someone else; reload and try again"),
    N_("absence not found"),
    N_("required for a language skill: a code such as zh, en or ja"),
)}
PATTERNS = [(re.compile(f"^{p}$"), msgid) for p, msgid in (
    (r"unknown component; use (?P<values>.+)", N_("unknown component; use %(values)s")),
    (r"unknown; use (?P<values>.+)", N_("unknown; use %(values)s")),
    (r"would make an overflow cycle: (?P<cycle>.+)",
     N_("would make an overflow cycle: %(cycle)s")),
    (r"overlaps shifts\[(?P<n>\d+)\]", N_("overlaps shifts[%(n)s]")),
    (r"must be between 0 and (?P<n>\d+)", N_("must be between 0 and %(n)s")),
    (r"unknown or inactive categories: (?P<ids>.+)",
     N_("unknown or inactive categories: %(ids)s")),
    (r"unknown customers: (?P<ids>.+)", N_("unknown customers: %(ids)s")),
    (r"at most (?P<n>\d+) days after the start", N_("at most %(n)s days after the start")),
    (r"at most (?P<n>\d+) shifts", N_("at most %(n)s shifts")),
    (r"must be a list of at most (?P<n>\d+) (?P<what>ids|tiers|language codes)",
     N_("must be a list of at most %(n)s entries")),
)]


def translate(message) -> str:
    """A dispatch service message in the reader's language (others as webapp.messages)."""
    text = str(message or "")
    if text in messages.FIXED:
        return messages.translate(text)
    if text in FIXED:
        return str(FIXED[text])
    for pattern, msgid in PATTERNS:
        m = pattern.match(text)
        if m:
            return gettext(msgid, **m.groupdict())
    return messages.translate(text)


def translated(errors: dict) -> dict:
    return {k: translate(v) for k, v in errors.items()}


def problem_text(p) -> str:
    key = p.code + ("." + p.params["reason"] if p.code == "tickets_waiting_unroutable" else "")
    msgid = PROBLEMS.get(key)
    return gettext(msgid, **p.params) if msgid else p.code
