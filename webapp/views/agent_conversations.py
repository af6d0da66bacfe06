"""Agent pages for chat and call conversations: the list, one conversation, and the
review panel on the ticket page (agent/_intake_review.html) showing what the AI step
extracted and the transcript.

The panel fetches its rows through the `intake_review` template global, like the mail
panel; a failure there never takes the ticket page down. Every value is escaped by
Jinja: transcripts are customer text.
"""
from __future__ import annotations

import logging
import re

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import NotFound, PermissionDenied
from appliance.services import conversation_views
from webapp.views.agent_common import actor, bp
from webapp.views.forms_labels import CONVERSATION_CHANNELS

log = logging.getLogger(__name__)

SPEAKER_LABELS = {"customer": _l("Customer"), "agent": _l("Agent"), "bot": _l("Bot"),
                  "system": _l("System")}
STATUS_LABELS = {"received": _l("Waiting for analysis"), "analysed": _l("Analysed"),
                 "failed": _l("Analysis failed")}
OUTCOME_LABELS = {"ticket": _l("Created a ticket"), "appended": _l("Added to a ticket"),
                  "resolved": _l("Resolved in the conversation"), "": _l("Not decided yet")}
MATCH_LABELS = {"order": _l("same order number"), "product": _l("same product, same channel")}
# The AI step's decision codes (rules.conversation_cues.decide, services.conversation_ai):
# "<code>", "<code>: <the words that decided>" or "model: follow_up|resolved (rules: …)".
REASON_LABELS = {
    "follow_up": _l("the agent promised further work"),
    "customer_confirmed": _l("the customer confirmed it is resolved"),
    "unresolved": _l("the customer said it is not resolved"),
    "problem_reported": _l("the customer reported a problem"),
    "no_follow_up_cue": _l("nothing calls for further work"),
    "no_customer_text": _l("the customer said nothing; a person should decide"),
}
METHOD_LABELS = {"rules": _l("by rules"), "rules+model": _l("by rules, subject by the model"),
                 "model": _l("decided by the model")}
_MODEL_REASON = re.compile(r"model: (follow_up|resolved) \(rules: (.*)\)", re.S)
IDENTIFIER_LABELS = (("phones", _l("Phone numbers")), ("emails", _l("E-mail addresses")),
                     ("order_numbers", _l("Order numbers")), ("addresses", _l("Addresses")))


def intake_review(ticket_id: int):
    """The conversations behind this ticket, newest first, or None when there are none."""
    try:
        return conversation_views.conversation_for_ticket(actor(), ticket_id) or None
    except (NotFound, PermissionDenied):
        return None
    except Exception:  # the panel must never take the ticket page down with it
        log.exception("intake review panel failed for ticket %s", ticket_id)
        return None


def reason_text(reason: str) -> str:
    """The decision's reason in words; a code this page does not know is shown as is,
    marked as such (a newer analysis step may add codes before this map knows them)."""
    reason = (reason or "").strip()
    m = _MODEL_REASON.fullmatch(reason)
    if m:
        verdict = (_("the model judged that further work is needed") if m.group(1) == "follow_up"
                   else _("the model judged it resolved"))
        return _("%(verdict)s (rules: %(rules)s)", verdict=verdict, rules=reason_text(m.group(2)))
    code, _sep, cue = reason.partition(": ")
    if code not in REASON_LABELS:
        return _("other reason (%(code)s)", code=reason)
    if cue:
        return _("%(reason)s: “%(words)s”", reason=REASON_LABELS[code], words=cue)
    return str(REASON_LABELS[code])


def method_text(method: str) -> str:
    if method in METHOD_LABELS:
        return str(METHOD_LABELS[method])
    return _("other method (%(code)s)", code=method)


@bp.app_template_filter("conversation_reason")
def _conversation_reason(reason: str) -> str:
    return reason_text(reason)


@bp.app_template_filter("conversation_method")
def _conversation_method(method: str) -> str:
    return method_text(method)


@bp.context_processor
def _conversation_globals() -> dict:
    return {"intake_review": intake_review, "SPEAKER_LABELS": SPEAKER_LABELS,
            "CONVERSATION_CHANNELS": CONVERSATION_CHANNELS,
            "CONVERSATION_STATUS": STATUS_LABELS, "OUTCOME_LABELS": OUTCOME_LABELS,
            "MATCH_LABELS": MATCH_LABELS, "IDENTIFIER_LABELS": IDENTIFIER_LABELS}


@bp.get("/conversations")
def conversation_list():
    status = request.args.get("status", "")
    status = status if status in STATUS_LABELS else ""
    rows = conversation_views.list_recent(actor(), status=status)
    return render_template("agent/conversations.html", rows=rows, status=status)


@bp.get("/conversations/<int:conversation_id>")
def conversation(conversation_id: int):
    c = conversation_views.get_conversation(actor(), conversation_id)
    return render_template("agent/conversation.html", c=c)
