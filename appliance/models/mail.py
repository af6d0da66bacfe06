"""E-mail: the mailboxes Gongdan answers for and every message it received or sent."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import Department
from .tickets import Comment, Ticket


class Mailbox(BaseModel):
    """An address customers write to; new tickets from it go to its department."""
    address = pw.CharField(max_length=254, unique=True)   # lower-cased
    name = pw.CharField(max_length=100, default="")       # From display name of replies
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    # Fetching from an IMAP server (services.mail_fetch). The password is a
    # security.crypto token, never the plain text. `last_uid` is the highest UID taken
    # in under `uidvalidity`; `fetch_lease_until` is held by a running fetch.
    imap_host = pw.CharField(max_length=253, default="")
    imap_port = pw.IntegerField(default=993)
    imap_security = pw.CharField(max_length=8, default="tls")   # tls | starttls | none
    imap_username = pw.CharField(max_length=254, default="")
    imap_password = pw.TextField(default="")
    imap_folder = pw.CharField(max_length=200, default="INBOX")
    uidvalidity = pw.BigIntegerField(null=True)
    last_uid = pw.BigIntegerField(default=0)
    last_fetch_at = pw.DateTimeField(null=True)
    fetch_lease_until = pw.DateTimeField(null=True)
    last_error = pw.TextField(default="")
    fetch_enabled = pw.BooleanField(default=False)


class MailMessage(BaseModel):
    """One message in (received) or out (a reply or notification Gongdan sends).

    Inbound rows make intake idempotent (`dedupe_key`: Message-ID per mailbox plus a
    content fingerprint, appliance.mail.dedupe) and let replies thread by Message-ID.
    Outbound rows are the outbox: queued -> sent, or failed with the error, retryable;
    a notice (services.mail_notify) has no comment and `kind` "<notice>:<locale>"."""
    direction = pw.CharField(max_length=3)                 # in | out
    mailbox = pw.ForeignKeyField(Mailbox, null=True, on_delete="SET NULL")
    message_id = pw.CharField(max_length=998, default="", index=True)
    dedupe_key = pw.CharField(max_length=128, null=True, unique=True)
    raw_sha256 = pw.CharField(max_length=64, default="")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="mail", on_delete="SET NULL")
    comment = pw.ForeignKeyField(Comment, null=True, on_delete="SET NULL")
    # The sender and the To/Cc addresses are personal data, encrypted at rest and bound to
    # mail_message|from|id and mail_message|to|id (a JSON list), with a blind index of the
    # sender for the rate limit and sender checks: services.mail_addresses, migration 0034.
    from_enc = pw.TextField(default="")
    from_bidx = pw.CharField(max_length=64, default="")
    to_enc = pw.TextField(default="")
    subject = pw.CharField(max_length=998, default="")
    in_reply_to = pw.CharField(max_length=998, default="")
    references = pw.JSONField(default=list)
    kind = pw.CharField(max_length=16, default="normal")   # in: normal|bounce|auto_reply|list|own
    #                                                        out: normal | received:en | ...
    status = pw.CharField(max_length=16)                   # in: processed|ignored|rejected
    #                                                        out: queued|sent|failed
    error = pw.TextField(default="")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("direction", "status", "next_attempt_at"), False),
                   (("ticket", "id"), False), (("from_bidx", "created_at"), False))
