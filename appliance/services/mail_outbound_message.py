"""The e-mail an outbox row (services.mail_outbound) becomes: the mailbox it is sent
from, its body (an agent's reply with its public attachments, or a rendered notice) and
the headers appliance.mail.compose builds from the row's stored threading fields.

Split out of mail_outbound, which owns queueing, the send job, retries and the staff
panel. Building writes only the chosen sender onto the row; nothing here decides
whether or when to send.
"""
from __future__ import annotations

import html

from appliance.errors import ValidationError
from appliance.mail import compose, notices
from appliance.models import Attachment, Comment, Ticket
from appliance.models.mail import Mailbox, MailMessage
from appliance.services import attachments, mail_addresses
from appliance.settings import Settings


class Unsendable(Exception):
    """The message cannot be built; trying again will not change that."""


class NoSender(Exception):
    """No active mailbox to send from: the row waits until an administrator adds one."""


def sender_mailbox(t: Ticket | None, mailbox_id: int | None) -> Mailbox | None:
    """The mailbox mail about `t` goes out from: the one it came in through, else its
    department's, else the first active one; None when no mailbox is active."""
    active = Mailbox.select().where(Mailbox.active == True)  # noqa: E712
    box = active.where(Mailbox.id == mailbox_id).first() if mailbox_id else None
    if box is None and t is not None and t.department_id is not None:
        box = active.where(Mailbox.department == t.department_id).order_by(Mailbox.id).first()
    return box or active.order_by(Mailbox.id).first()


def _sender(t: Ticket | None, row: MailMessage) -> Mailbox:
    came_in = row.mailbox_id
    if came_in is None and t is not None:
        first = (MailMessage.select(MailMessage.mailbox).where(
            (MailMessage.ticket == t.id) & (MailMessage.direction == "in")
            & MailMessage.mailbox.is_null(False)).order_by(MailMessage.id).first())
        came_in = first.mailbox_id if first else None
    box = sender_mailbox(t, came_in)
    if box is None:
        raise NoSender()
    return box


def _html(text: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "\n".join("<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>"
                     for p in paragraphs)
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n' \
           f"</body></html>\n"


def _attachments(comment_id: int, settings: Settings) -> list[compose.Attachment]:
    out = []
    for a in (Attachment.select().where((Attachment.comment == comment_id)
                                        & (Attachment.internal == False))  # noqa: E712
              .order_by(Attachment.id)):
        try:
            data = attachments.read_file(settings, a.storage_name)  # decrypted
        except OSError:
            raise Unsendable(f"attachment {a.id} is missing from storage") from None
        out.append(compose.Attachment(a.filename, a.content_type, data))
    return out


def notice_kind(row: MailMessage) -> tuple[str, str] | None:
    """("received", "zh_CN") for a notice row (services.mail_notify), None for a reply."""
    if row.comment_id is not None or ":" not in (row.kind or ""):
        return None
    kind, _, locale = row.kind.partition(":")
    return (kind, locale) if kind in notices.KINDS else None


def build_message(row: MailMessage, settings: Settings):
    """The EmailMessage for one outbox row, its sender recorded on the row; raises
    Unsendable (for good) or NoSender (for now)."""
    t = Ticket.get_or_none(Ticket.id == row.ticket_id) if row.ticket_id else None
    text, html_body, files, kind = _content(row, t, settings)
    box = _sender(t, row)
    MailMessage.update(mailbox=box.id).where(MailMessage.id == row.id).execute()
    mail_addresses.set_sender(row.id, box.address)
    sender = compose.Mailbox(box.address, box.name)
    try:
        return compose.compose_reply(
            sender=sender, reply_to=sender, to=mail_addresses.recipients_of(row),
            subject=row.subject,
            ticket_number=t.number if t else None, domain=settings.mail_domain, text=text,
            html=html_body, in_reply_to=row.in_reply_to or None, kind=kind,
            references=list(row.references or []), message_id=row.message_id or None,
            attachments=files)
    except ValidationError as exc:
        # Field names only: values may be addresses (never logged) or an attack.
        raise Unsendable(f"the message could not be built: {exc.message} "
                         f"({', '.join(sorted(exc.fields))})") from None


def _content(row: MailMessage, t: Ticket | None, settings: Settings
             ) -> tuple[str, str, list[compose.Attachment], str]:
    """(text, html, attachments, kind): a notice's rendered body, or the agent's reply."""
    from appliance.services import csat   # lazily: csat imports the outbox's helpers
    if csat.is_survey_mail(row):
        try:
            text, html_body = csat.mail_content(row, settings)
        except LookupError as exc:
            raise Unsendable(str(exc)) from None
        return text, html_body, [], "system"
    from appliance.services import reports_schedule_mail   # scheduled reports (decision 0041)
    if reports_schedule_mail.is_report_mail(row):
        try:
            return (*reports_schedule_mail.mail_content(row, settings), "system")
        except LookupError as exc:
            raise Unsendable(str(exc)) from None
    notice = notice_kind(row)
    if notice is not None:
        if notice[0] == "received" and t is None:
            raise Unsendable("the ticket of this message was deleted")
        body = notices.render(notice[0], notice[1], number=t.number if t else "",
                              limit_bytes=settings.mail_max_bytes)
        return body.text, body.html, [], "auto_reply"
    comment = Comment.get_or_none(Comment.id == row.comment_id) if row.comment_id else None
    if t is None or comment is None:
        raise Unsendable("the ticket or reply of this message was deleted")
    return comment.body, _html(comment.body), _attachments(comment.id, settings), "human"
