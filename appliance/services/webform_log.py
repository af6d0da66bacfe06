"""The web forms' submission log (FormSubmission): the rows the per-client and per-form
limits count, the used form tokens (the hashed nonce of each post that opened a ticket),
and their pruning.

Posts take turns from counting the limits (and looking up the token) to their commit,
so parallel posts cannot all pass on one count, nor two posts with one token both open a
ticket: on SQLite every write transaction is BEGIN IMMEDIATE already; on PostgreSQL
transaction locks on the form, then the client (always in that order, so two posts cannot
deadlock). The unique nonce_hash is the last word should two ever commit anyway.
"""
from __future__ import annotations

import datetime as dt
import hmac

from appliance.db import database, is_postgres
from appliance.errors import DomainError
from appliance.jobs import unit_of_work
from appliance.models import FormSubmission, Ticket, utcnow
from appliance.services.webform_tokens import TOKEN_MAX_AGE, FormTokenError, Seal
from appliance.settings import Settings

# pg_advisory_xact_lock classes (services.agent_stats uses 4_204): posts to one form, and
# posts from one client, take turns between counting the limits and committing.
LOCK_FORM = 4_301
LOCK_CLIENT = 4_302
CLIENT_WINDOW = dt.timedelta(hours=1)    # webform_limit_per_hour counts this far back
FORM_WINDOW = dt.timedelta(minutes=1)    # webform_form_limit_per_minute counts this far back
# Rows older than this count for no limit, and no token that is still valid can match
# their nonce (a post comes after its token was issued). The margin covers clocks of
# web servers that differ a little.
KEEP = max(CLIENT_WINDOW, FORM_WINDOW, dt.timedelta(seconds=TOKEN_MAX_AGE)) \
    + dt.timedelta(minutes=10)
PRUNE_BATCH = 5000


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


def log(form_id: int, client: str, outcome: str, ticket_id: int | None = None,
        seal: Seal | None = None) -> None:
    FormSubmission.create(form=form_id, client_hash=client, outcome=outcome, ticket=ticket_id,
                          nonce_hash=seal.nonce_hash if seal else None,
                          post_hash=seal.post_hash if seal else None)


def over_limit(form_id: int, client: str, settings: Settings) -> bool:
    """Refused posts (rate_limited) do not count, so a blocked client is free again an
    hour after its last counted post."""
    now = utcnow()
    counted = FormSubmission.outcome != "rate_limited"
    per_client = FormSubmission.select(FormSubmission.id).where(
        (FormSubmission.client_hash == client) & counted
        & (FormSubmission.created_at > now - CLIENT_WINDOW)).limit(
        settings.webform_limit_per_hour).count()
    per_form = FormSubmission.select(FormSubmission.id).where(
        (FormSubmission.form == form_id) & counted
        & (FormSubmission.created_at > now - FORM_WINDOW)).limit(
        settings.webform_form_limit_per_minute).count()
    return per_client >= settings.webform_limit_per_hour or \
        per_form >= settings.webform_form_limit_per_minute


def check_rate(form_id: int, client: str, settings: Settings) -> None:
    """An early refusal, before the post is checked and its files are written. It only
    saves work: the count that binds is admit's, in the transaction that records the post."""
    if over_limit(form_id, client, settings):
        with unit_of_work():
            log(form_id, client, "rate_limited")
        raise RateLimited("too many submissions; try again later")


def take_turns(form_id: int, client: str) -> None:
    """Call first in the transaction that records a counted post (see the module's doc)."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_FORM, form_id))
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)",
                             (LOCK_CLIENT, int(client[:8], 16) - 2 ** 31))


def admit(form_id: int, client: str, settings: Settings) -> bool:
    """After take_turns: whether the post is within the limits (when not, the
    `rate_limited` row is logged instead)."""
    if over_limit(form_id, client, settings):
        log(form_id, client, "rate_limited")
        return False
    return True


def record(form_id: int, client: str, outcome: str, settings: Settings) -> None:
    """Log a post that stores nothing else (honeypot, invalid), within the limits."""
    with unit_of_work():
        take_turns(form_id, client)
        admitted = admit(form_id, client, settings)
        if admitted:
            log(form_id, client, outcome)
    if not admitted:
        raise RateLimited("too many submissions; try again later")


def earlier(seal: Seal) -> str | None:
    """The ticket number the post that used this token opened ("" when that ticket is
    gone), or None when the token is unused. The same token with a different post is
    refused (FormTokenError "used"): it must not learn the first post's ticket number."""
    row = (FormSubmission.select(FormSubmission.post_hash, FormSubmission.ticket)
           .where(FormSubmission.nonce_hash == seal.nonce_hash).first())
    if row is None:
        return None
    if not hmac.compare_digest(row.post_hash or "", seal.post_hash):
        raise FormTokenError("used")
    number = Ticket.select(Ticket.number).where(Ticket.id == row.ticket_id).scalar()
    return number or ""


def prune(now: dt.datetime | None = None) -> int:
    """Delete log rows older than KEEP (in short batches: SQLite has one writer); safe to
    run any time and twice. Returns how many went."""
    cutoff = (now or utcnow()) - KEEP
    removed = 0
    while True:
        with unit_of_work():
            ids = [r.id for r in FormSubmission.select(FormSubmission.id).where(
                FormSubmission.created_at < cutoff).limit(PRUNE_BATCH)]
            if ids:
                FormSubmission.delete().where(FormSubmission.id.in_(ids)).execute()
        removed += len(ids)
        if len(ids) < PRUNE_BATCH:
            return removed
