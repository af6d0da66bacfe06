"""Integration tokens: the credentials a chat system or PBX uses for /api/v1/intake/*.

Separate from personal API tokens (services.users): an integration token acts for no
user, may only post conversations of its own channel, and is only accepted by the
intake endpoints (and a personal token never is). Only a SHA-256 of the secret is kept;
the secret is shown once when the token is made.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import IntegrationToken, utcnow
from appliance.rules.access import Actor
from appliance.services import common
from security.tokens import new_token, token_hash

CHANNELS = ("chat", "call")
PREFIX = "gdi"
EXTERNAL_PREFIX = "integration-"  # customer external ids: "integration-3:42"
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at: one write a minute at most


@dataclass(frozen=True)
class IntegrationView:
    id: int
    name: str
    channel: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool


@dataclass(frozen=True)
class Caller:
    """Who posted: the token's id and channel (what the intake endpoints need)."""
    token_id: int
    channel: str

    def customer_external_id(self, value: str) -> str:
        """A customer id from this integration as it is stored and matched: prefixed with
        the token's id, so two chat systems that both call a user "42" keep two
        customers. The id is the only stable value a token has (names are free text and
        not unique); rotating a secret should therefore rewrite the row's hash, not make
        a new token, or the new token's customers start afresh. "" stays "". Ids staff
        type on the customer form keep their plain form."""
        value = (value or "").strip()
        return f"{EXTERNAL_PREFIX}{self.token_id}:{value}" if value else ""


def _require_admin(actor: Actor) -> None:
    if not actor.can("config.manage"):
        raise PermissionDenied("only administrators manage integration tokens")


def _view(t: IntegrationToken) -> IntegrationView:
    return IntegrationView(t.id, t.name, t.channel, t.created_at, t.last_used_at,
                           t.revoked_at is not None)


def create_token(actor: Actor, name: str, channel: str) -> tuple[IntegrationView, str]:
    """A new token; the secret is returned once and stored only hashed."""
    _require_admin(actor)
    errors = {}
    try:
        name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    except ValidationError as exc:
        errors.update(exc.fields)
    if channel not in CHANNELS:
        errors["channel"] = "must be one of " + ", ".join(CHANNELS)
    if errors:
        raise ValidationError(errors)
    secret = new_token(PREFIX)
    with unit_of_work():
        row = IntegrationToken.create(name=name, channel=channel, token_hash=token_hash(secret),
                                      created_by=actor.user_id or None)
    return _view(row), secret


def list_tokens(actor: Actor) -> list[IntegrationView]:
    _require_admin(actor)
    return [_view(t) for t in IntegrationToken.select().order_by(IntegrationToken.id)]


def revoke_token(actor: Actor, token_id: int) -> IntegrationView:
    _require_admin(actor)
    with unit_of_work():
        row = IntegrationToken.get_or_none(IntegrationToken.id == token_id)
        if row is None:
            raise NotFound("integration token not found", id=token_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            IntegrationToken.update(revoked_at=row.revoked_at).where(
                IntegrationToken.id == token_id).execute()
    return _view(row)


def authenticate(secret: str) -> Caller | None:
    """The live token with this secret, or None. Personal tokens (gd_…) never match: they
    live in another table."""
    if not secret or not secret.startswith(PREFIX + "_"):
        return None
    row = IntegrationToken.get_or_none(IntegrationToken.token_hash == token_hash(secret))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        IntegrationToken.update(last_used_at=now).where(IntegrationToken.id == row.id).execute()
    return Caller(row.id, row.channel)
