"""The periodic NPS survey (docs/decisions/0037): once a day, customers with a ticket
resolved in the last nps_recent_days who were not asked within nps_period_days get the
question "how likely are you to recommend us" (0-10) by mail, with the same single-use,
expiring, hash-stored link as the CSAT survey (services.csat answers both).

Safe to run twice and on two workers at once: the survey's unique period_key
("nps:<customer>:<period number>") lets one of them create it, and the "asked within the
period" check keeps a customer asked near the end of one period out of the next.
The survey records the department of the customer's latest resolved ticket, which scopes
the results for supervisors.
"""
from __future__ import annotations

import datetime as dt
import logging

from peewee import IntegrityError, fn

from appliance.db import database
from appliance.errors import ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.mail import compose, notices, survey_text
from appliance.models import MailMessage, Survey, Ticket, User, utcnow
from appliance.services import mail_addresses
from appliance.settings import Settings

log = logging.getLogger(__name__)
BATCH = 500     # customers per run; the next day's run takes the rest


def due_customers(settings: Settings, now: dt.datetime) -> list[tuple[int, int | None]]:
    """(customer id, department of their latest resolved ticket) of those to ask now."""
    recent = now - dt.timedelta(days=settings.nps_recent_days)
    asked = (Survey.select(Survey.customer).where(
        (Survey.kind == "nps") & Survey.customer.is_null(False)
        & (Survey.created_at > now - dt.timedelta(days=settings.nps_period_days))))
    latest = (Ticket.select(Ticket.customer, fn.MAX(Ticket.resolved_at).alias("last"))
              .where(Ticket.customer.is_null(False) & (Ticket.resolved_at >= recent)
                     & Ticket.merged_into.is_null() & Ticket.customer.not_in(asked))
              .group_by(Ticket.customer).order_by(Ticket.customer).limit(BATCH))
    out = []
    for row in latest:
        t = (Ticket.select(Ticket.department).where((Ticket.customer == row.customer_id)
                                                    & (Ticket.resolved_at == row.last)).first())
        out.append((row.customer_id, t.department_id if t else None))
    return out


def send_due(settings: Settings, now: dt.datetime | None = None) -> int:
    """Create and mail the NPS surveys due now; returns how many were created."""
    if not settings.nps_enabled:
        return 0
    now = now or utcnow()
    period = int(now.replace(tzinfo=dt.timezone.utc).timestamp()
                 // (settings.nps_period_days * 86400))
    created = 0
    for customer_id, department_id in due_customers(settings, now):
        with unit_of_work():
            try:
                with database.atomic():
                    s = Survey.create(kind="nps", customer=customer_id, department=department_id,
                                      created_at=now, period_key=f"nps:{customer_id}:{period}",
                                      expires_at=now + dt.timedelta(days=settings.csat_link_days))
            except IntegrityError:
                continue          # another run asked this customer in this period
            _queue_mail(s, settings)
            created += 1
    if created:
        log.info("NPS: %d surveys created", created)   # a count, never who
    return created


def _queue_mail(s: Survey, settings: Settings) -> None:
    from appliance.services.csat import mail_recipient
    from appliance.services.mail_outbound import customer_email, sender_mailbox
    to = mail_recipient(customer_email(s.customer_id))
    box = sender_mailbox(None, None)
    if not to or box is None:
        return
    user = (User.select(User.locale).where((User.customer == s.customer_id)
                                           & (User.locale != "")).first())
    locale = notices.locale_for(user.locale if user else "", settings.default_locale)
    try:
        message_id = compose.new_message_id(settings.mail_domain)
    except ValidationError:
        return
    row = mail_addresses.create(direction="out", ticket=None, comment=None, mailbox=box.id,
                                to_addresses=[to], subject=survey_text.subject(locale, "nps"),
                             message_id=message_id, kind=f"nps:{locale}", status="queued",
                             next_attempt_at=utcnow(), dedupe_key=f"survey:{s.id}")
    Survey.update(mail=row.id).where(Survey.id == s.id).execute()
    schedule("send_mail", row.id)
