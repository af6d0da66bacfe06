"""Customer identity on the agent pages: the customer profile panel on the ticket page
(agent/_customer_panel.html, fed by the `customer_panel` template global like the mail
panel), merging a duplicate customer, and the words for both.
"""
from __future__ import annotations

import logging
import re

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.services import customer_merge, customer_profile
from webapp import messages
from webapp.messages import N_, translate
from webapp.views.agent_common import actor, bp
from webapp.views.agent_labels import EVENT_LABELS
from webapp.views.forms_labels import CONVERSATION_CHANNELS

log = logging.getLogger(__name__)

EVENT_LABELS.setdefault("customer_merged", _l("moved to the surviving customer of a merge"))
CONTACT_KINDS = {"phone": _l("Phone"), "email": _l("Email"), "external": _l("External id")}
DUPLICATE_REASONS = {
    "same_name": _l("same name and company"),
    "phone_in_external": _l("a phone number is the other's external id"),
    "portal_email": _l("portal login e-mail is the other's contact"),
}
CONVERSATION_OUTCOMES = {"ticket": _l("ticket opened"), "appended": _l("added to a ticket"),
                         "resolved": _l("resolved in the conversation"), "": _l("not analysed yet")}

# The identity services' messages, for webapp.messages.translate (views show them).
messages.FIXED.update({m: _l(m) for m in (
    N_("listed twice"), N_("already belongs to another customer"),
    N_("cannot merge a customer into itself"),
    N_("this customer was already merged into another customer"),
    N_("only staff who see this customer's contacts in full may change them"),
)})
messages._COMPILED.extend((re.compile(f"^{p}$", re.S), msgid) for p, msgid in (
    (r"already belongs to customer #(?P<id>\d+) \((?P<name>.*)\)",
     N_("already belongs to customer #%(id)s (%(name)s)")),
    (r"that customer was merged into customer #(?P<id>\d+|None); merge into that one",
     N_("that customer was merged into customer #%(id)s; merge into that one")),
))


def customer_panel(ticket_id: int):
    """The ticket's customer profile, or None (no customer, or nothing to show)."""
    try:
        return customer_profile.ticket_customer_panel(actor(), ticket_id)
    except (NotFound, PermissionDenied):
        return None
    except Exception:  # the panel must never take the ticket page down with it
        log.exception("customer panel failed for ticket %s", ticket_id)
        return None


@bp.context_processor
def _identity_globals() -> dict:
    return {"customer_panel": customer_panel}


@bp.app_template_filter("contact_kind")
def _contact_kind(kind: str) -> str:
    return str(CONTACT_KINDS.get(kind, kind))


@bp.app_template_filter("duplicate_reason")
def _duplicate_reason(reason: str) -> str:
    return str(DUPLICATE_REASONS.get(reason, reason))


@bp.app_template_filter("conversation_channel")
def _conversation_channel(channel: str) -> str:
    return str(CONVERSATION_CHANNELS.get(channel, channel))


@bp.app_template_filter("conversation_outcome")
def _conversation_outcome(outcome: str) -> str:
    return str(CONVERSATION_OUTCOMES.get(outcome, outcome))


@bp.post("/customers/<int:customer_id>/merge")
def customer_merge_post(customer_id: int):
    """Merge this customer into the one named in the form (after the confirmation box)."""
    back = redirect(url_for("agent.customer", customer_id=customer_id) + "#merge")
    into = request.form.get("into", "").strip().lstrip("#")
    if not into.isdigit() or int(into) > 2**31 - 1:
        flash(_("Enter the number of the customer to keep."), "error")
        return back
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the merge."), "error")
        return back
    try:
        survivor = customer_merge.merge_customers(
            actor(), customer_id, int(into), request.form.get("expected_version"))
    except (ValidationError, Conflict, NotFound) as exc:
        reasons = exc.fields.values() if isinstance(exc, ValidationError) else [exc.message]
        for reason in reasons:
            flash(_("Could not merge: %(reason)s", reason=translate(reason)), "error")
        return back
    flash(_("Customer #%(source)s was merged into this customer.", source=customer_id),
          "success")
    return redirect(url_for("agent.customer", customer_id=survivor.id))
