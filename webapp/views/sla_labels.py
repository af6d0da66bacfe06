"""Words for SLA timeline entries and notifications (services.sla_escalation), registered
with the shared label tables when the admin views load (webapp.views.admin imports
admin_sla, which imports this)."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp import messages
from webapp.messages import N_
from webapp.views.agent_labels import EVENT_LABELS, FIELD_LABELS, KEY_LABELS

CLOCK_LABELS = {"first_response": _l("first response"), "next_response": _l("next response"),
                "resolution": _l("resolution")}
ACTION_LABELS = {"notify_lead": _l("notify the department lead"),
                 "raise_priority": _l("raise the priority one step"),
                 "reassign": _l("reassign")}

EVENT_LABELS.setdefault("sla_warning", _l("SLA warning"))
EVENT_LABELS.setdefault("sla_breached", _l("SLA breached"))
EVENT_LABELS.setdefault("sla_escalated", _l("SLA escalation"))
EVENT_LABELS.setdefault("sla_escalation_failed", _l("SLA escalation failed"))
FIELD_LABELS.setdefault("sla", _l("SLA"))
for _key, _label in (("clock", _l("clock")), ("threshold", _l("threshold %")),
                     ("policy", _l("policy")), ("action", _l("action")),
                     ("reason", _l("reason"))):
    KEY_LABELS.setdefault(_key, _label)


def notification_text(n) -> str:
    """One sentence for the kinds sla_warning, sla_breached, sla_escalated and
    sla_escalation_failed."""
    data = n.data or {}
    number = n.ticket_number or _("a ticket")
    clock = str(CLOCK_LABELS.get(data.get("clock"), data.get("clock", "")))
    if n.kind == "sla_warning":
        return _("%(number)s: %(percent)s%% of the %(clock)s target is used.", number=number,
                 percent=data.get("threshold", "?"), clock=clock)
    if n.kind == "sla_breached":
        return _("%(number)s breached its %(clock)s target.", number=number, clock=clock)
    if n.kind == "sla_escalation_failed":
        action = str(ACTION_LABELS.get(data.get("action"), data.get("action", "")))
        return _("%(number)s: the SLA escalation “%(action)s” could not be carried out "
                 "(%(reason)s); please act on the ticket.", number=number, action=action,
                 reason=messages.translate(data.get("reason", "")))
    return _("%(number)s was escalated: its %(clock)s target is at %(percent)s%%.",
             number=number, clock=clock, percent=data.get("threshold", "?"))


# The SLA services' and rules' reasons (services.sla_config, rules.sla_policy,
# rules.business_calendar), for webapp.messages.translate: the admin forms show them.
messages.FIXED.update({m: _l(m) for m in (
    N_("give the policy a name"),
    N_("set at least one of the first-response, next-response and resolution targets"),
    N_("warning thresholds are distinct percentages from 1 to 99"),
    N_("priorities are 1, 2, 3 or 4"),
    N_("a tier is a short word such as standard or vip"),
    N_("the order is a whole number from 0 to 9999"),
    N_("an escalation action is notify_lead, raise_priority or reassign"),
    N_("reassign names exactly one agent or one team"),
    N_("unknown field"), N_("required, at most 100 characters"),
    N_("the team has no active member"),
    N_("choose a department: the default calendar exists already"),
    N_("the default calendar has no department, the others one each"),
    N_("this department has a calendar already"),
    N_("not a day of the week (monday … sunday)"),
    N_("give opening hours for each of the seven days, Monday first"),
    N_("not a date (YYYY-MM-DD)"), N_("required (an IANA name such as Asia/Shanghai)"),
    N_("must be a list"), N_("a closure is {start, end, reason}"),
    N_("a date (YYYY-MM-DD) or a date-time with its offset"),
    N_("a whole number of minutes"), N_("must be whole numbers"),
    N_("an escalation is {at, action, user_id, team_id}"),
    N_("the calendar is never open"), N_("a closure is either two dates or two date-times"),
    N_("a closure's date-times need a time zone"), N_("the closure ends before it starts"),
    N_("no weekday from Monday to Friday has hours, so make-up working days on days without "
       "hours stay closed unless make-up day hours are set"),
)})
messages._COMPILED.extend((re.compile(f"^{p}$", re.S), msgid) for p, msgid in (
    (r"a target is a whole number of minutes from 1 to (?P<max>\d+)",
     N_("a target is a whole number of minutes from 1 to %(max)s")),
    (r"the first response target \((?P<a>\d+) min\) is longer than the resolution target "
     r"\((?P<b>\d+) min\)",
     N_("the first response target (%(a)s min) is longer than the resolution target "
        "(%(b)s min)")),
    (r"the next response target \((?P<a>\d+) min\) is longer than the resolution target "
     r"\((?P<b>\d+) min\)",
     N_("the next response target (%(a)s min) is longer than the resolution target "
        "(%(b)s min)")),
    (r"channels are (?P<channels>.+)", N_("channels are %(channels)s")),
    (r"category (?P<id>\d+) does not exist", N_("category %(id)s does not exist")),
    (r"an escalation runs at one of the policy's warning thresholds \((?P<t>.*)\) or at 100 "
     r"\(breach\)", N_("an escalation runs at one of the policy's warning thresholds "
                       "(%(t)s) or at 100 (breach)")),
    (r"(?P<p>(“[^”]*”: )?)“(?P<other>.+)” has the same order and can match the same tickets "
     r"with different targets; give one of them another order",
     N_("%(p)s“%(other)s” has the same order and can match the same tickets with different "
        "targets; give one of them another order")),
    (r"(?P<p>(“[^”]*”: )?)never used: “(?P<other>.+)” comes first and matches every ticket "
     r"this policy would",
     N_("%(p)snever used: “%(other)s” comes first and matches every ticket this policy "
        "would")),
    (r"not a time of day: '(?P<v>.*)' \(HH:MM, 24:00, or HH:MM\+1 for an end\)",
     N_("not a time of day: '%(v)s' (HH:MM, 24:00, or HH:MM+1 for an end)")),
    (r"not a time of day: '(?P<v>.*)'", N_("not a time of day: '%(v)s'")),
    (r"unknown time zone (?P<v>.+) \(use an IANA name such as Asia/Shanghai\)",
     N_("unknown time zone %(v)s (use an IANA name such as Asia/Shanghai)")),
    (r"(?P<v>.+) is not a time range within one day \(start 00:00–23:59, at most 24 hours "
     r"long\)", N_("%(v)s is not a time range within one day (start 00:00–23:59, at most "
                   "24 hours long)")),
    (r"(?P<v>.+) ends before it starts; write the end as HH:MM\+1 for hours that end the "
     r"next day", N_("%(v)s ends before it starts; write the end as HH:MM+1 for hours that "
                     "end the next day")),
    (r"(?P<a>.+) overlaps (?P<b>.+)", N_("%(a)s overlaps %(b)s")),
    (r"a closure covers at most (?P<n>\d+) days", N_("a closure covers at most %(n)s days")),
    (r"closures (?P<a>.+) and (?P<b>.+) overlap", N_("closures %(a)s and %(b)s overlap")),
    (r"(?P<d>\S+) is both an extra open day and closed",
     N_("%(d)s is both an extra open day and closed")),
    (r"Chinese holiday data covers (?P<a>\d+)–(?P<b>\d+) only; (?P<y>.+) use the weekly hours "
     r"\(add that year's holidays and make-up days as closures and extra open days\)",
     N_("Chinese holiday data covers %(a)s–%(b)s only; %(y)s use the weekly hours (add that "
        "year's holidays and make-up days as closures and extra open days)")),
))
