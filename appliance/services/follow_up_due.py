"""Due follow-up visits (回访, docs/decisions/0038): the periodic task `gongdan.follow_ups_due`
runs `remind_due` every minute. Each due visit is claimed by setting reminded_at first, so
two runs never notify twice; its caller is notified (services.notifications shows it),
or the visit is cancelled when its ticket was reopened or resolved again since."""
from __future__ import annotations

import datetime as dt

from appliance.jobs import unit_of_work
from appliance.models import Department, FollowUpVisit, Notification, Ticket, User, utcnow
from appliance.rules.access import SYSTEM, can_view_ticket
from appliance.services import common

REMIND_BATCH = 500


def remind_due(now: dt.datetime | None = None) -> int:
    """Notify whoever does each visit that fell due; returns how many notices. Each visit
    is claimed by setting reminded_at first, so two runs never notify twice. A visit whose
    ticket was reopened or resolved again since is cancelled instead: its resolution is
    no longer the ticket's."""
    now = now or utcnow()
    count = 0
    due = list(FollowUpVisit.select(FollowUpVisit.id).where(
        (FollowUpVisit.status == "scheduled") & (FollowUpVisit.due_at <= now)
        & FollowUpVisit.reminded_at.is_null()).order_by(FollowUpVisit.due_at)
        .limit(REMIND_BATCH))
    for row in due:
        with unit_of_work():
            claimed = FollowUpVisit.update(reminded_at=now).where(
                (FollowUpVisit.id == row.id) & FollowUpVisit.reminded_at.is_null()
                & (FollowUpVisit.status == "scheduled")).execute()
            if claimed:
                count += _remind_one(FollowUpVisit.get_by_id(row.id), now)
    return count


def _remind_one(v: FollowUpVisit, now: dt.datetime) -> int:
    t = Ticket.get_by_id(v.ticket_id)
    if t.resolved_at != v.resolved_at:
        FollowUpVisit.update(status="cancelled", done_at=now,
                             version=FollowUpVisit.version + 1).where(
            FollowUpVisit.id == v.id).execute()
        common.record(t.id, SYSTEM, "follow_up_cancelled", "", None, {"visit_id": v.id},
                      internal=True)
        return 0
    user_id = _reminded(v, t)
    if user_id is None:
        return 0
    Notification.create(user=user_id, kind="follow_up_due", ticket=t.id,
                        data={"visit_id": v.id, "due_at": v.due_at.isoformat()})
    return 1


def _reminded(v: FollowUpVisit, t: Ticket) -> int | None:
    """Its agent while able to see the ticket; for the pool (or an agent who lost the
    ticket) the department's lead, else the ticket's assignee; else nobody (the visit
    stays in the department queue)."""
    from appliance.services.callbacks import _actor_of
    lead = (Department.select(Department.lead).where(Department.id == v.department_id).scalar()
            if v.department_id else None)
    facts = common.facts(t)
    for user_id in dict.fromkeys((v.agent_id, lead, t.assignee_id)):
        u = User.get_or_none(User.id == user_id) if user_id else None
        if u is not None and u.is_staff and u.active and can_view_ticket(_actor_of(u), facts):
            return u.id
    return None
