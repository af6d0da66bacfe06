"""Satisfaction surveys (CSAT, docs/decisions/0037): one survey per resolution of a ticket,
mailed to the customer with one link per score and shown on the portal's ticket page, and
what a bad answer sets off.

Creation runs inside the transaction that resolves the ticket and is keyed by (ticket,
resolved_at), so a resolution gets one survey however often the code path runs, and a
resolution after a reopen gets a new one. The mail goes through the outbox like every
notice (services.mail_outbound: retries, visible on the ticket); its link token is minted
when the message is built (mail_content), so only its SHA-256 hash is ever stored. A
send attempt that failed and is retried mints a new one: the undelivered link dies.

Answering is single use: the answer is written by a conditional UPDATE (where no answer
yet), so two clicks racing record one rating. Links and answers never log the token, the
address or the comment.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from peewee import IntegrityError

from appliance.db import database, is_postgres
from appliance.errors import DomainError, NotFound, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.mail import compose, survey_text
from appliance.models import MailMessage, Survey, Ticket, utcnow
from appliance.rules.access import SYSTEM, Actor
from appliance.services import mail_addresses, mail_notify
from appliance.settings import Settings
from security.tokens import token_hash

COMMENT_MAX = 2000
TOKEN_MAX = 100          # a longer "token" is refused before hashing
MAIL_KIND = "csat"


class SurveyAnswered(DomainError):
    """The survey was answered already (the link is single use)."""
    code = "survey_answered"
    http_status = 409


class SurveyExpired(DomainError):
    code = "survey_expired"
    http_status = 410


@dataclass(frozen=True)
class SurveyView:
    id: int
    state: str              # open | answered | expired
    rating: int | None
    can_comment: bool       # answered, no comment yet, within csat_comment_minutes
    expires_at: dt.datetime
    kind: str = "csat"      # csat (1-5) | nps (0-10)


# -- creation (inside the resolving transaction) -------------------------------------------

def on_resolved(t: Ticket, resolved_at: dt.datetime, settings: Settings) -> int | None:
    """Create the survey of this resolution and queue its mail; None when there is nothing
    to ask (surveys off, no customer) or it exists already."""
    if not settings.csat_enabled or t.customer_id is None:
        return None
    try:
        with database.atomic():   # a savepoint: a duplicate leaves the resolution intact
            s = Survey.create(kind="csat", ticket=t.id, resolved_at=resolved_at,
                              customer=t.customer_id, department=t.department_id,
                              agent=t.assignee_id, category=t.category_id,
                              expires_at=resolved_at + dt.timedelta(days=settings.csat_link_days))
    except IntegrityError:
        return None
    _queue_mail(s, t, settings)
    return s.id


def _queue_mail(s: Survey, t: Ticket, settings: Settings) -> None:
    from appliance.services.mail_notify import ticket_locale
    from appliance.services.mail_outbound import customer_email, sender_mailbox
    to = mail_recipient(customer_email(t.customer_id))
    box = sender_mailbox(t, None)
    if not to or box is None:
        return                     # the portal still shows the survey
    locale = ticket_locale(t, settings)
    try:
        subject = compose.tag_subject(survey_text.subject(locale), t.number)
        message_id = compose.new_message_id(settings.mail_domain)
    except ValidationError:
        return
    row = mail_addresses.create(direction="out", ticket=t.id, comment=None, mailbox=box.id,
                                to_addresses=[to], subject=subject, message_id=message_id,
                             kind=f"{MAIL_KIND}:{locale}", status="queued",
                             next_attempt_at=utcnow(), dedupe_key=f"survey:{s.id}")
    Survey.update(mail=row.id).where(Survey.id == s.id).execute()
    schedule("send_mail", row.id)


def mail_recipient(address: str) -> str:
    """Where a survey may go: the same rule as every notice."""
    return mail_notify.recipient(address)


def is_survey_mail(row: MailMessage) -> bool:
    return row.comment_id is None and (row.kind or "").startswith((MAIL_KIND + ":", "nps:"))


def mail_content(row: MailMessage, settings: Settings) -> tuple[str, str]:
    """(text, html) of a survey mail, with a freshly minted link token whose hash replaces
    the stored one. Raises LookupError when there is nothing to ask any more."""
    s = Survey.get_or_none(Survey.mail == row.id)
    t = Ticket.get_or_none(Ticket.id == s.ticket_id) if s is not None and s.ticket_id else None
    if s is None or (s.kind == "csat" and t is None) or s.customer_id is None:
        raise LookupError("the survey, its ticket or its customer was deleted")
    if s.answered_at is not None or s.expires_at <= utcnow():
        raise LookupError("the survey was answered or has expired")
    token = secrets.token_urlsafe(32)
    Survey.update(token_hash=token_hash(token)).where(Survey.id == s.id).execute()
    link = f"{settings.public_url.rstrip('/')}/survey/{token}"
    locale = row.kind.partition(":")[2]
    if s.kind == "nps":
        body = survey_text.render_nps(locale, link=link, days=settings.csat_link_days)
    else:
        body = survey_text.render(locale, number=t.number, link=link,
                                  days=settings.csat_link_days)
    return body.text, body.html


# -- reading and answering ----------------------------------------------------------------

def _view(s: Survey, settings: Settings, now: dt.datetime) -> SurveyView:
    if s.answered_at is not None:
        window = dt.timedelta(minutes=settings.csat_comment_minutes)
        can_comment = not s.comment and now - s.answered_at <= window
        return SurveyView(s.id, "answered", s.rating, can_comment, s.expires_at, s.kind)
    state = "expired" if s.expires_at <= now else "open"
    return SurveyView(s.id, state, None, False, s.expires_at, s.kind)


def _by_token(token: str, lock: bool = False) -> Survey:
    """The survey of a link token; NotFound for anything unknown, malformed or forged (the
    same answer for all, naming nothing)."""
    if not token or len(token) > TOKEN_MAX:
        raise NotFound("survey not found")
    q = Survey.select().where(Survey.token_hash == token_hash(token))
    s = (q.for_update() if lock and is_postgres() else q).first()
    if s is None:
        raise NotFound("survey not found")
    return s


def survey_by_token(token: str, settings: Settings) -> SurveyView:
    return _view(_by_token(token), settings, utcnow())


def _rating(value, kind: str = "csat") -> int:
    scale = survey_text.NPS_SCALE if kind == "nps" else survey_text.SCALE
    try:
        rating = int(str(value).strip())
    except (TypeError, ValueError):
        rating = -1
    if rating not in scale:
        raise ValidationError({"rating": f"must be a whole number from {scale[0]} to {scale[-1]}"})
    return rating


def _comment(value) -> str:
    from appliance.services import common
    return common.clean_text(value, "comment", max_len=COMMENT_MAX)   # no control characters


def answer_by_token(token: str, rating, comment, settings: Settings) -> SurveyView:
    """Record the score of a mailed link (once); SurveyAnswered / SurveyExpired otherwise."""
    comment = _comment(comment)
    with unit_of_work():
        s = _by_token(token, lock=True)
        view = _record(s, _rating(rating, s.kind), comment, "link", settings)
    return view


def comment_by_token(token: str, comment, settings: Settings) -> SurveyView:
    """Add the optional comment after the rating, once, within csat_comment_minutes."""
    comment = _comment(comment)
    if not comment:
        raise ValidationError({"comment": "required"})
    with unit_of_work():
        s = _by_token(token, lock=True)
        if not _view(s, settings, utcnow()).can_comment:
            raise SurveyAnswered("this survey was answered already")
        n = Survey.update(comment=comment).where((Survey.id == s.id)
                                                 & (Survey.comment == "")).execute()
        if n != 1:
            raise SurveyAnswered("this survey was answered already")
        from appliance.services import csat_follow_up
        csat_follow_up.late_comment(s, comment, settings)
        s.comment = comment
    return _view(s, settings, utcnow())


def pending_for_ticket(actor: Actor, ticket_id: int, settings: Settings) -> SurveyView | None:
    """The newest open survey of a ticket the customer actor owns (the portal), else None."""
    if not actor.is_customer:
        return None
    from appliance.services import common
    common.ticket_for(actor, ticket_id)
    s = (Survey.select().where((Survey.ticket == ticket_id) & (Survey.kind == "csat")
                               & Survey.answered_at.is_null())
         .order_by(Survey.id.desc()).first())
    view = _view(s, settings, utcnow()) if s is not None else None
    return view if view is not None and view.state == "open" else None


def answer_in_portal(actor: Actor, survey_id: int, rating, comment,
                     settings: Settings) -> SurveyView:
    """A logged-in customer answers a survey of their own ticket (no token needed)."""
    rating, comment = _rating(rating), _comment(comment)
    from appliance.services import common
    with unit_of_work():
        s = Survey.get_or_none(Survey.id == survey_id)
        if s is None or s.kind != "csat" or s.ticket_id is None or not actor.is_customer:
            raise NotFound("survey not found")
        common.ticket_for(actor, s.ticket_id)     # 404 unless it is the actor's ticket
        view = _record(s, rating, comment, "portal", settings)
    return view


def _record(s: Survey, rating: int, comment: str, via: str, settings: Settings) -> SurveyView:
    now = utcnow()
    state = _view(s, settings, now).state
    if state == "answered":
        raise SurveyAnswered("this survey was answered already")
    if state == "expired":
        raise SurveyExpired("this survey has expired")
    n = (Survey.update(rating=rating, comment=comment, answered_at=now, answered_via=via)
         .where((Survey.id == s.id) & Survey.answered_at.is_null()).execute())
    if n != 1:
        raise SurveyAnswered("this survey was answered already")
    s.rating, s.comment, s.answered_at, s.answered_via = rating, comment, now, via
    from appliance.services import common, csat_follow_up
    if s.kind == "csat" and s.ticket_id is not None:
        # The rating only: the comment is the customer's free text (shown on the reports
        # page to those who may see the ticket), not a timeline value.
        common.record(s.ticket_id, SYSTEM, "csat_answered", "rating", None, rating,
                      internal=True)
        csat_follow_up.after_answer(s, settings, now)
    return _view(s, settings, now)


__all__ = ["SurveyAnswered", "SurveyExpired", "SurveyView", "answer_by_token",
           "answer_in_portal", "comment_by_token", "mail_content", "on_resolved",
           "pending_for_ticket", "survey_by_token"]
