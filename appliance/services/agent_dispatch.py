"""The agent's side of dispatch: what routing knows about them, as they (or their
supervisor) may read it: presence as set and as routing sees it, load, skills,
languages, permissions, shifts, breaks and efficiency.

Administrators change these in dispatch_profiles; this module only reads, apart from
`change_presence`, which refuses customers before presence.set_presence and answers
with the new state. Routing state comes from dispatch_state.agent_states, so what
the agent reads is exactly what routing sees.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from appliance import dto
from appliance.errors import NotFound, PermissionDenied
from appliance.models import (AgentProfile, AgentShift, AgentStat, Category, Customer, Department,
                              User, utcnow)
from appliance.rules import routing
from appliance.rules.access import STAFF, Actor
from appliance.services import common
from appliance.services import dispatch_state as state
from appliance.services import presence as presence_service


@dataclass(frozen=True)
class PresenceView:
    presence: str            # what the agent (or the system) set
    effective: str           # what routing sees: busy at capacity, away off shift or on a break
    auto: bool               # set by the system (login, logout, idle), not by the agent
    changed_at: dt.datetime | None
    load: float
    capacity: int


@dataclass(frozen=True)
class ShiftView:
    weekday: int             # 0 = Monday
    start: str               # "HH:MM", the appliance's local time (as dispatch_profiles)
    end: str                 # "HH:MM"; not after start: the shift runs past midnight


@dataclass(frozen=True)
class AbsenceView:
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str


@dataclass(frozen=True)
class EfficiencyView:
    category: dto.Ref | None  # None: all categories together
    window_days: int
    closed: int
    median_handle_minutes: float | None
    fcr_rate: float | None
    reopen_rate: float | None
    csat: float | None
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class SkillLevel:
    name: str
    level: int


@dataclass(frozen=True)
class DispatchProfile:
    user_id: int
    display_name: str
    department: dto.Ref | None
    presence: PresenceView
    on_shift: bool
    on_break: bool
    skills: list[SkillLevel]
    languages: list[str]
    allowed_categories: list[dto.Ref]   # empty: any category
    allowed_customers: list[dto.Ref]    # empty: any customer
    vip_tiers: list[str]                # "*": every tier
    shifts: list[ShiftView]
    absences: list[AbsenceView]
    efficiency: list[EfficiencyView]


def _target(actor: Actor, user_id: int | None) -> int:
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    target = user_id or actor.user_id
    if target != actor.user_id and actor.role not in ("supervisor", "admin"):
        raise PermissionDenied("supervisors and administrators only")
    return target


def presence_of(actor: Actor, user_id: int | None = None) -> PresenceView:
    """The agent's presence as set and as routing sees it (their own, or anyone's for
    supervisors and administrators). Reads only: no profile row is created."""
    target = _target(actor, user_id)
    return _presence(target, state.agent_states([target], None))


def _presence(user_id: int, states: list[routing.AgentState]) -> PresenceView:
    p = AgentProfile.get_or_none(AgentProfile.user == user_id)
    a = states[0] if states else None
    stored = p.presence if p else "offline"
    effective = routing.effective_presence(stored, a.load, a.capacity, a.on_shift,
                                           a.on_break) if a else stored
    return PresenceView(stored, effective, p.presence_auto if p else True,
                        p.presence_changed_at if p else None, a.load if a else 0.0,
                        int(a.capacity) if a else 0)


def stored_presence(actor: Actor) -> str:
    """The actor's presence as set (one query, for the navigation of every page)."""
    return AgentProfile.select(AgentProfile.presence).where(
        AgentProfile.user == actor.user_id).scalar() or "offline"


def change_presence(actor: Actor, presence: str, user_id: int | None = None) -> PresenceView:
    """Set the presence (presence.set_presence checks the value and who may set whose);
    customers are refused here, before set_presence would call their id a bad user_id."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    presence_service.set_presence(actor, presence, user_id=user_id)
    return presence_of(actor, user_id)


def profile(actor: Actor, user_id: int | None = None) -> DispatchProfile:
    """Everything routing weighs for one agent, for the "my dispatch profile" page."""
    target = _target(actor, user_id)
    user = User.get_or_none(User.id == target)
    if user is None or user.role not in STAFF:
        raise NotFound("user not found")
    states = state.agent_states([target], None)
    a = states[0]
    p = AgentProfile.get_or_none(AgentProfile.user == target)
    return DispatchProfile(
        user_id=user.id, display_name=user.display_name, department=_department(user),
        presence=_presence(target, states), on_shift=a.on_shift, on_break=a.on_break,
        skills=[SkillLevel(n, lv) for n, lv in sorted(a.skills.items())],
        languages=sorted(a.languages),
        allowed_categories=_categories(p.allowed_category_ids if p else []),
        allowed_customers=_customers(p.allowed_customer_ids if p else []),
        vip_tiers=list(p.vip_tiers if p else ["*"]), shifts=_shifts(target),
        absences=[AbsenceView(x.kind, x.starts_at, x.ends_at, x.note)
                  for x in presence_service.absences(target, utcnow())],
        efficiency=_efficiency(target))


def _department(user: User) -> dto.Ref | None:
    if not user.department_id:
        return None
    name = Department.select(Department.name).where(Department.id == user.department_id).scalar()
    return dto.Ref(user.department_id, name or "")


def _categories(ids: list) -> list[dto.Ref]:
    if not ids:
        return []
    return [dto.Ref(c.id, c.path or c.name) for c in Category.select(
        Category.id, Category.path, Category.name).where(Category.id.in_(ids))
        .order_by(Category.path)]


def _customers(ids: list) -> list[dto.Ref]:
    if not ids:
        return []
    return sorted(common.refs(Customer, ids), key=lambda r: (r.name, r.id))


def _shifts(user_id: int) -> list[ShiftView]:
    rows = (AgentShift.select().where(AgentShift.user == user_id)
            .order_by(AgentShift.weekday, AgentShift.start_minute))
    return [ShiftView(s.weekday, _clock(s.start_minute), _clock(s.end_minute)) for s in rows]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _efficiency(user_id: int) -> list[EfficiencyView]:
    """The overall row first, then one per category by path."""
    rows = (AgentStat.select(AgentStat, Category.path, Category.name)
            .join(Category, join_type=JOIN.LEFT_OUTER, on=(AgentStat.category == Category.id))
            .where(AgentStat.user == user_id).objects())
    out = [EfficiencyView(dto.Ref(s.category_id, s.path or s.name) if s.category_id else None,
                          s.window_days, s.closed, s.median_handle_minutes, s.fcr_rate,
                          s.reopen_rate, s.csat, s.updated_at) for s in rows]
    return sorted(out, key=lambda e: (e.category is not None, e.category.name if e.category
                                      else ""))
