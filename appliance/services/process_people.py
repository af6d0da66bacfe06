"""Who a process node means: approvers, escalation targets, recipients of a notice and
the agent a task goes to, resolved from a rule {"kind", "value"} against the ticket.

Kinds: user (a user name, or a list of them), role (agent / supervisor / admin: those of the ticket's
department, else everyone with the role), department (its active members), team (an
id: its members), department_lead (a department code, empty for the ticket's own
department), requester_manager (the manager of whoever filed the ticket), assignee.
Only active staff are ever returned; an empty list is the caller's to refuse.
"""
from __future__ import annotations

from peewee import fn

from appliance.models import Department, Team, TeamMember, Ticket, TimelineEvent, User
from appliance.models.org import STAFF_ROLES


def _staff(query) -> list[int]:
    return [u.id for u in query.where((User.active == True)  # noqa: E712
                                      & User.role.in_(STAFF_ROLES)).order_by(User.id)]


def department_by_code(code) -> Department | None:
    if not isinstance(code, str) or not code:
        return None
    return Department.get_or_none((Department.code == code) & (Department.active == True))  # noqa: E712


def team_by_value(value) -> Team | None:
    try:
        team_id = int(value)
    except (TypeError, ValueError):
        return Team.get_or_none(Team.name == value) if isinstance(value, str) and value else None
    return Team.get_or_none(Team.id == team_id)


def resolve(rule, t: Ticket) -> list[int]:
    """The active staff a rule names for this ticket (ids, in a stable order)."""
    if not isinstance(rule, dict):
        return []
    kind, value = rule.get("kind"), rule.get("value")
    if kind == "user":  # one user name, or several (approvers picked by name)
        names = [str(v) for v in value] if isinstance(value, list) else [str(value or "")]
        return _staff(User.select(User.id).where(User.username.in_(names)))
    if kind == "role":
        if value not in STAFF_ROLES:
            return []
        mine = _staff(User.select(User.id).where((User.role == value)
                                                 & (User.department == t.department_id)))
        return mine or _staff(User.select(User.id).where(User.role == value))
    if kind == "department":
        d = department_by_code(value)
        return _staff(User.select(User.id).where(User.department == d.id)) if d else []
    if kind == "team":
        team = team_by_value(value)
        return _staff(User.select(User.id).join(TeamMember, on=(TeamMember.user == User.id))
                      .where(TeamMember.team == team.id)) if team else []
    if kind == "department_lead":
        d = department_by_code(value) if value else Department.get_or_none(
            Department.id == t.department_id)
        return _staff(User.select(User.id).where(User.id == d.lead_id)) if d and d.lead_id else []
    if kind == "requester_manager":
        person = requester_of(t)
        manager = User.select(User.manager).where(User.id == person).scalar() if person else None
        return _staff(User.select(User.id).where(User.id == manager)) if manager else []
    if kind == "assignee":
        return _staff(User.select(User.id).where(User.id == t.assignee_id)) if t.assignee_id else []
    return []


def requester_of(t: Ticket) -> int | None:
    """Who filed the ticket: the portal user, else the person who created it."""
    if t.requester_id:
        return t.requester_id
    return (TimelineEvent.select(TimelineEvent.actor)
            .where((TimelineEvent.ticket == t.id) & (TimelineEvent.kind == "created"))
            .order_by(TimelineEvent.id).limit(1).scalar())


def least_loaded(user_ids: list[int]) -> int | None:
    """Of these people, the one with the fewest open tickets (the lowest id on a tie)."""
    if not user_ids:
        return None
    counts = dict(Ticket.select(Ticket.assignee, fn.COUNT(Ticket.id))
                  .where(Ticket.assignee.in_(user_ids) & (Ticket.is_open == True))  # noqa: E712
                  .group_by(Ticket.assignee).tuples())
    return min(user_ids, key=lambda uid: (counts.get(uid, 0), uid))


def department_of(user_id: int) -> int | None:
    return User.select(User.department).where(User.id == user_id).scalar()
