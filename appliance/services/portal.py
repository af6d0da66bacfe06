"""Customer portal: submitting a ticket together with its files in one step."""
from __future__ import annotations

from appliance import dto
from appliance.errors import PermissionDenied, ValidationError
from appliance.rules.access import Actor
from appliance.services import tickets
from appliance.services.attachments import Upload
from appliance.services.comments import MAX_FILES
from appliance.settings import Settings


def submit_ticket(actor: Actor, data: tickets.TicketInput, uploads: list[Upload] | None,
                  settings: Settings) -> dto.TicketDetail:
    """Create a customer's ticket and its attachments in one transaction (see create_ticket:
    fields are validated before any file is touched, files are removed if it fails)."""
    uploads = uploads or []
    if not actor.is_customer:
        raise PermissionDenied("the portal is for customers")
    if len(uploads) > MAX_FILES:
        raise ValidationError({"attachments": f"at most {MAX_FILES} files"})
    return tickets.create_ticket(actor, data, settings, uploads=uploads)
