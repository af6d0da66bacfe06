"""Customer portal: submitting a ticket together with its files in one step."""
from __future__ import annotations

from appliance import dto
from appliance.errors import PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Attachment, Category, utcnow
from appliance.rules.access import Actor
from appliance.services import common, tickets
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.services.comments import MAX_FILES
from appliance.settings import Settings


def _check_category(category_id) -> None:
    """Customers may only file under categories the portal offers (active ones)."""
    pk = common.exists(Category, category_id, "category_id")
    if pk is not None and not Category.get_by_id(pk).active:
        raise ValidationError({"category_id": "does not exist"})


def submit_ticket(actor: Actor, data: tickets.TicketInput, uploads: list[Upload] | None,
                  settings: Settings) -> dto.TicketDetail:
    """Create a customer's ticket and its attachments in one transaction.

    Fields are validated before any file is touched (so a form error is reported
    as such); files are checked and written before the transaction and removed
    again if it fails, so a failed submission leaves neither rows nor files.
    """
    uploads = uploads or []
    if not actor.is_customer:
        raise PermissionDenied("the portal is for customers")
    if len(uploads) > MAX_FILES:
        raise ValidationError({"attachments": f"at most {MAX_FILES} files"})
    _check_category(data.category_id)
    tickets._validate_new(actor, data)
    written = write_files(uploads, settings)
    try:
        with unit_of_work():
            ticket_id = tickets.create_ticket(actor, data, settings).summary.id
            _store_attachments(actor, ticket_id, written)
    except BaseException:
        remove_files([w["storage_name"] for w in written], settings)
        raise
    return tickets.get_ticket(actor, ticket_id, settings)


def _store_attachments(actor: Actor, ticket_id: int, written: list[dict]) -> None:
    now = utcnow()
    for w in written:
        Attachment.create(ticket=ticket_id, comment=None, internal=False,
                          uploaded_by=actor.user_id, created_at=now, **w)
        common.record(ticket_id, actor, "attachment_added", after={"filename": w["filename"]})
