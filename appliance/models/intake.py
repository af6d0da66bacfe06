"""Omnichannel intake: chat and call conversations, the integration tokens that post them,
public web forms, and callbacks (回拨) agents owe customers."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .customers import Customer
from .org import Department, User
from .tickets import Category, Ticket


class IntegrationToken(BaseModel):
    """A chat system's or PBX's credential for /api/v1/intake/*; only a SHA-256 of the
    secret is stored. `channel` limits what it may post (chat | call)."""
    name = pw.CharField(max_length=100)
    channel = pw.CharField(max_length=8)
    token_hash = pw.CharField(max_length=64, unique=True)
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)


class Conversation(BaseModel):
    """One finished chat or phone call, as posted; the AI step decides whether it needs a
    ticket. Idempotent by (token, external_id): a second delivery of the same payload
    answers with this row, a different payload under the same id is a conflict. Keyed by
    the integration that posted it, so two systems' ids never meet."""
    channel = pw.CharField(max_length=8)                       # chat | call
    external_id = pw.CharField(max_length=200)
    token = pw.ForeignKeyField(IntegrationToken, null=True, on_delete="SET NULL")
    payload_sha256 = pw.CharField(max_length=64)
    customer = pw.ForeignKeyField(Customer, null=True, backref="conversations",
                                  on_delete="SET NULL")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="conversations", on_delete="SET NULL")
    started_at = pw.DateTimeField(null=True)
    ended_at = pw.DateTimeField(null=True)
    identifiers = pw.JSONField(default=dict)   # {} since 0030: in personal_enc
    participants = pw.JSONField(default=dict)  # source, direction, agent (not personal)
    # Encrypted JSON {identifiers: as posted (phone, email, external_id, name),
    # participants: {caller, callee}} (services.conversation_personal, migration 0030).
    personal_enc = pw.TextField(default="")
    recording_ref = pw.CharField(max_length=500, default="")
    messages = pw.JSONField(default=list)      # [{speaker, text, at}] (chat) or ASR segments
    # received -> analysed (outcome: ticket | appended | resolved) | failed
    status = pw.CharField(max_length=16, default="received")
    outcome = pw.CharField(max_length=16, default="")
    extraction = pw.JSONField(default=dict)    # the AI step's result, shown for review
    error = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    analysed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("token", "external_id"), True), (("customer", "id"), False),
                   (("status", "id"), False))


class WebForm(BaseModel):
    """A public contact form (embeddable page /forms/<slug>); tickets from it go to its
    department and category."""
    slug = pw.CharField(max_length=64, unique=True)
    title = pw.CharField(max_length=200)
    intro = pw.TextField(default="")
    department = pw.ForeignKeyField(Department, null=True, on_delete="SET NULL")
    category = pw.ForeignKeyField(Category, null=True, on_delete="SET NULL")
    allow_attachments = pw.BooleanField(default=True)
    send_confirmation = pw.BooleanField(default=True)
    active = pw.BooleanField(default=True)
    # Embedding: origins allowed to frame the page (CSP frame-ancestors); empty = none.
    embed_origins = pw.JSONField(default=list)
    created_at = pw.DateTimeField(default=utcnow)


class FormSubmission(BaseModel):
    """One accepted or refused post of a web form (rate limiting counts these; pruned
    when no limit or token needs them). The client address is kept only as a keyed hash."""
    form = pw.ForeignKeyField(WebForm, backref="submissions", on_delete="CASCADE")
    client_hash = pw.CharField(max_length=64)
    ticket = pw.ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
    outcome = pw.CharField(max_length=16)   # accepted | honeypot | rate_limited | invalid
    created_at = pw.DateTimeField(default=utcnow)
    # Accepted posts only: the SHA-256 of the form token's nonce (unique: one token opens
    # one ticket) and a keyed hash of what was posted (a resubmit gets the same answer).
    nonce_hash = pw.CharField(max_length=64, null=True, unique=True)
    post_hash = pw.CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("client_hash", "created_at"), False), (("form", "created_at"), False))


class Callback(BaseModel):
    """A call an agent owes a customer (回拨), scheduled from a ticket."""
    ticket = pw.ForeignKeyField(Ticket, backref="callbacks", on_delete="CASCADE")
    agent = pw.ForeignKeyField(User, backref="callbacks", on_delete="CASCADE")
    # The number to call, encrypted and bound to callback|phone|<id> (migration 0029).
    phone_enc = pw.TextField(default="")
    due_at = pw.DateTimeField()
    note = pw.TextField(default="")
    status = pw.CharField(max_length=16, default="open")  # open | done | failed | cancelled
    outcome = pw.TextField(default="")
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    done_at = pw.DateTimeField(null=True)
    reminded_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("agent", "status", "due_at"), False), (("status", "due_at"), False))
