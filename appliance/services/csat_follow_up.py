"""What a bad satisfaction answer sets off (docs/decisions/0037): the same thing a late
customer reply by mail does (services.mail_intake) — within the reopen window the answer
becomes the customer's reply on the ticket, which reopens it (rules.states) and routes it
again if nobody holds it; later it opens a follow-up ticket in the same department,
related to the old one, so the ended ticket's history and figures stay as they were.

Runs inside the answer's transaction. A bad rating is one at or below csat_follow_up_at;
csat_follow_up switches this off.
"""
from __future__ import annotations

import datetime as dt

from appliance.errors import Conflict
from appliance.models import Survey, Ticket
from appliance.rules.access import SYSTEM
from appliance.rules.mail_threading import after_reply_to_closed
from appliance.settings import Settings


def is_bad(rating: int | None, settings: Settings) -> bool:
    return (settings.csat_follow_up and rating is not None
            and rating <= settings.csat_follow_up_at)


def _text(rating: int, comment: str) -> str:
    # Our own words plus the customer's comment: it is their reply, shown as such.
    head = f"Satisfaction survey: rated {rating} of 5 (满意度调查：{rating} 分，满分 5 分)."
    return head + (f"\n\n{comment}" if comment else "")


def after_answer(s: Survey, settings: Settings, now: dt.datetime) -> int | None:
    """Reopen or follow up after a bad answer; returns the ticket that took it, or None."""
    if not is_bad(s.rating, settings) or s.ticket_id is None:
        return None
    t = Ticket.get_or_none(Ticket.id == s.ticket_id)
    if t is None or t.merged_into_id:
        return None
    from appliance.services import comments, common
    action = after_reply_to_closed(t.status, t.closed_at or t.resolved_at, now,
                                   settings.reopen_window_days)
    if action == "follow_up":
        target = _open_follow_up(t, _text(s.rating, s.comment), settings)
    else:
        comments.add_inbound_comment(t.id, _text(s.rating, s.comment), [], settings,
                                     channel="web", now=now)
        target = t.id
    Survey.update(follow_up=target).where(Survey.id == s.id).execute()
    s.follow_up_id = target
    common.record(t.id, SYSTEM, "csat_follow_up", "", None, {"ticket_id": target},
                  internal=True)
    return target


def _open_follow_up(old: Ticket, text: str, settings: Settings) -> int:
    from appliance.services.links import _insert_link
    from appliance.services.tickets import TicketInput, create_ticket
    data = TicketInput(subject=f"Follow-up to {old.number} (satisfaction survey)",
                       description=f"Follow-up to {old.number}\n\n{text}", channel="web",
                       department_id=old.department_id, category_id=old.category_id,
                       customer_id=old.customer_id)
    ticket_id = create_ticket(SYSTEM, data, settings).summary.id
    _insert_link(SYSTEM, old.id, ticket_id, "related")
    return ticket_id


def late_comment(s: Survey, comment: str, settings: Settings) -> None:
    """A comment given after a bad rating joins the ticket that took the follow-up."""
    if s.follow_up_id is None:
        return
    from appliance.services import comments
    try:
        comments.add_inbound_comment(s.follow_up_id, f"Satisfaction survey comment:\n\n{comment}",
                                     [], settings, channel="web")
    except Conflict:
        pass   # that ticket ended meanwhile; the comment stays on the survey (reports page)
