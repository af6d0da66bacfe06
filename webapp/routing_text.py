"""Sentences about routing, in the reader's language: why a ticket went to whom, why it
waits, escalations and redistributions. The domain stores facts (RoutingDecision
.explanation, queue reasons, timeline events); only the words live here, so the
timeline, the ticket's side panel, the board and its JSON all say the same thing.

Everything returns plain text (names come from the database): templates escape it and
board.js inserts it with textContent.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from webapp.views.ai_labels import language_label

QUEUE_REASONS = {
    "no_one_available": lazy_gettext("Waiting: nobody is available"),
    "nobody_qualified": lazy_gettext("Waiting: nobody in the department has the required "
                                     "skills or permissions — an administrator was told"),
    "no_agents": lazy_gettext("Waiting: no agent in this department"),
    "manual_dispatch": lazy_gettext("Waiting: this department assigns by hand"),
}
MODE_LABELS = {"auto": lazy_gettext("automatic"), "pulled": lazy_gettext("taken"),
               "manual": lazy_gettext("by hand"), "queued": lazy_gettext("queued"),
               "redistributed": lazy_gettext("redistributed")}
PRESENCE_LABELS = {"online": lazy_gettext("Online"), "busy": lazy_gettext("Busy"),
                   "away": lazy_gettext("Away"), "offline": lazy_gettext("Offline")}
PART_LABELS = {"skill": lazy_gettext("Skill"), "load": lazy_gettext("Load"),
               "efficiency": lazy_gettext("Efficiency"), "language": lazy_gettext("Language"),
               "continuity": lazy_gettext("Continuity"), "fairness": lazy_gettext("Fairness")}
# Timeline events whose `after` this module turns into a sentence.
EVENT_KINDS = ("routed", "queued", "escalated", "redistributed")


def number(value) -> str:
    """3.0 -> "3", 2.5 -> "2.5": loads are load units, mostly whole."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def label(table: dict, key: str) -> str:
    return str(table.get(key, key))


def queue_reason(reason: str) -> str:
    return str(QUEUE_REASONS.get(reason) or _("Waiting in the queue"))


def facts(explanation: dict) -> list[str]:
    """The reasons an agent was chosen, each a short phrase; parts that are unknown are left out."""
    out = [_("%(skill)s level %(level)s", skill=s.get("name", ""), level=s.get("level", ""))
           for s in explanation.get("skills") or [] if isinstance(s, dict)]
    if explanation.get("capacity"):
        out.append(_("load %(load)s/%(capacity)s", load=number(explanation.get("load", 0)),
                     capacity=number(explanation["capacity"])))
    if explanation.get("median_minutes") is not None:
        out.append(_("median handling %(minutes)s min in this category",
                     minutes=number(explanation["median_minutes"])))
    if explanation.get("continuity"):
        out.append(_("served this customer before"))
    if explanation.get("language"):
        out.append(_("speaks %(language)s", language=language_label(explanation["language"])))
    return out


def assigned(explanation: dict) -> str:
    """"Assigned to 王芳: 售后维修 level 4, load 3/8, median handling 22 min in this category"."""
    agent = explanation.get("agent") or "—"
    reasons = facts(explanation)
    if not reasons:
        return _("Assigned to %(agent)s", agent=agent)
    # TRANSLATORS: separates the reasons of a routing decision ("，" in Chinese).
    return _("Assigned to %(agent)s: %(reasons)s", agent=agent, reasons=_(", ").join(reasons))


def manual(explanation: dict, by: str = "") -> str:
    by = by or explanation.get("by") or _("System")
    if explanation.get("agent"):
        text = _("Assigned by hand by %(by)s to %(agent)s", by=by, agent=explanation["agent"])
    else:
        text = _("Sent back to the queue by hand by %(by)s", by=by)
    if explanation.get("note"):
        text += " " + _("Note: %(note)s", note=explanation["note"])
    return text


def redistributed(name: str) -> str:
    return _("Taken back from %(agent)s, who is no longer available, and routed again",
             agent=name or "—")


def escalated(minutes) -> str:
    return _("Escalated after %(minutes)s minutes of waiting", minutes=number(minutes or 0))


def decision_sentence(mode: str, explanation: dict | None, by: str = "") -> str:
    """One decision (RoutingDecision or the `after` of a "routed" event) as a sentence."""
    explanation = explanation if isinstance(explanation, dict) else {}
    if mode == "manual":
        return manual(explanation, by)
    if mode == "pulled":
        return _("%(agent)s took it from the queue", agent=explanation.get("agent") or "—")
    if mode == "redistributed":
        return redistributed(explanation.get("from_agent", ""))
    if mode == "queued":
        return queue_reason(explanation.get("reason", ""))
    return assigned(explanation)


def decision_text(d) -> str:
    """A DecisionView of appliance.services.dispatch_board as a sentence."""
    return decision_sentence(d.mode, d.explanation)


def event_sentence(event, names: dict | None = None) -> str:
    """A routing timeline event (kinds in EVENT_KINDS) as a sentence; `names` maps
    assignee ids to names, as the ticket page's timeline has them."""
    after = event.after if isinstance(event.after, dict) else {}
    if event.kind == "routed":
        return decision_sentence(after.get("mode", "auto"), after,
                                 event.actor.name if event.actor else "")
    if event.kind == "queued":
        return queue_reason(after.get("reason", ""))
    if event.kind == "escalated":
        return escalated(after.get("waited_minutes"))
    if event.kind == "redistributed":
        who = after.get("from")
        name = ((names or {}).get("assignee_id") or {}).get(who) or (f"#{who}" if who else "")
        return redistributed(name)
    return ""


def score_parts(parts: dict) -> list[tuple[str, str]]:
    """(label, value) of each score component, in the rule's order."""
    return [(label(PART_LABELS, k), f"{float(parts[k]):.2f}") for k in PART_LABELS if k in parts]
