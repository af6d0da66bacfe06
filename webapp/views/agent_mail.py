"""Outgoing e-mail on the ticket page: the mail status panel and "send again".

The panel (agent/_mail_status.html) fetches its rows through the `mail_panel` template
global, like the routing panel; a failure there never takes the ticket page down.
"""
from __future__ import annotations

import logging
import re

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, NotFound, PermissionDenied
from appliance.services import mail_outbound
from webapp.views.agent_common import actor, bp
from webapp.views.agent_labels import EVENT_LABELS

log = logging.getLogger(__name__)

MAIL_STATUS_LABELS = {"queued": _l("Waiting to be sent"), "sent": _l("Sent"),
                      "failed": _l("Not delivered")}
# The outbox's fixed reasons (services.mail_outbound, appliance.mail.smtp); SMTP codes
# and anything else are shown as recorded.
MAIL_ERRORS = {
    mail_outbound.NOT_CONFIGURED: _l("outgoing mail is not configured"),
    mail_outbound.NO_MAILBOX: _l("no active mailbox to send from"),
    "recipient refused": _l("recipient refused"),
    "sender refused": _l("sender refused"),
    "authentication failed": _l("authentication failed"),
    "relay answered": _l("the relay answered with an error"),
    "the relay closed the connection": _l("the relay closed the connection"),
    "timed out talking to the relay": _l("timed out talking to the relay"),
    "the relay does not offer STARTTLS": _l("the relay does not offer STARTTLS"),
}
_WITH_CODE = re.compile(r"^(.*) \((\d{3})\)$")
_BOUNCED = re.compile(r"^bounced(?:: (.*))?$", re.DOTALL)
# Timeline words for the outbox's events (services.mail_outbound records them).
EVENT_LABELS.setdefault("mail_failed", _l("e-mail reply not sent"))
EVENT_LABELS.setdefault("mail_retried", _l("sent the e-mail reply again"))


def mail_panel(ticket_id: int):
    """The ticket's outgoing mail, newest first, or None when there is none to show."""
    try:
        return mail_outbound.outbound_for_ticket(actor(), ticket_id) or None
    except (NotFound, PermissionDenied):
        return None
    except Exception:  # the panel must never take the ticket page down with it
        log.exception("mail panel failed for ticket %s", ticket_id)
        return None


@bp.context_processor
def _mail_globals() -> dict:
    return {"mail_panel": mail_panel}


@bp.app_template_filter("mail_status")
def _mail_status(status: str) -> str:
    return str(MAIL_STATUS_LABELS.get(status, status))


@bp.app_template_filter("mail_error")
def _mail_error(error: str) -> str:
    bounced = _BOUNCED.match(error or "")
    if bounced:
        return _("returned by the recipient's mail server: %(detail)s",
                 detail=bounced.group(1) or "-")
    m = _WITH_CODE.match(error or "")
    if m and m.group(1) in MAIL_ERRORS:
        return f"{MAIL_ERRORS[m.group(1)]} ({m.group(2)})"
    return str(MAIL_ERRORS.get(error, error))


@bp.post("/tickets/<int:ticket_id>/mail/<int:mail_id>/retry")
def retry_mail(ticket_id: int, mail_id: int):
    try:
        mail_outbound.retry(actor(), mail_id)
    except Conflict:
        flash(_("Only an e-mail that could not be delivered can be sent again."), "error")
    else:
        flash(_("The e-mail will be sent again."), "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id) + "#mail-status")
