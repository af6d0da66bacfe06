"""Words for the web form and callback services' messages (the services speak plain
English, see webapp/messages.py), the timeline and notification labels of callbacks, and
the channel words of chat and call conversations (one map for the conversation pages
and the customer panel, so both say the same)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp import messages
from webapp.messages import N_
from webapp.views.agent_labels import EVENT_LABELS, KEY_LABELS

FIXED = {m: _l(m) for m in (
    N_("give an e-mail address or a phone number"),
    N_("a valid phone number (5-20 digits, + allowed)"),
    N_("this form does not take attachments"),
    N_("lower-case letters, digits and -, up to 64"),
    N_("each origin is https://host[:port] (or https://*.domain), without a path"),
    N_("at most 20 origins"), N_("must be a list of origins"),
    N_("must not be in the past"), N_("must be active staff who can see this ticket"),
    N_("this callback is already closed"), N_("callback not found"),
    N_("web form not found"), N_("too many submissions; try again later"),
    N_("must be a date and time"),
)}

CONVERSATION_CHANNELS = {"chat": _l("Chat"), "call": _l("Phone call")}

EVENT_LABELS.setdefault("callback_scheduled", _l("scheduled a callback"))
EVENT_LABELS.setdefault("callback_done", _l("called back"))
EVENT_LABELS.setdefault("callback_failed", _l("could not reach the customer"))
EVENT_LABELS.setdefault("callback_cancelled", _l("cancelled a callback"))
EVENT_LABELS.setdefault("callback_changed", _l("changed a callback"))
KEY_LABELS.setdefault("agent", _l("Who calls"))
KEY_LABELS.setdefault("due_at", _l("Call at"))
KEY_LABELS.setdefault("outcome", _l("Outcome"))


def translate(message) -> str:
    text = str(message or "")
    if text in FIXED:
        return str(FIXED[text])
    return messages.translate(text)


def translated(errors: dict) -> dict:
    return {k: translate(v) for k, v in (errors or {}).items()}
