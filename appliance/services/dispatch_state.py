"""Reads the database into the dataclasses of appliance.rules.routing (reads only).

Everything an assignment depends on — presence, shifts, breaks, load, skills,
permissions, efficiency, the customer's previous agents — is loaded here in a few
batched queries per ticket, so the routing rule itself stays a pure function.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from appliance import runtime
from appliance.models import (AgentAbsence, AgentProfile, AgentShift, AgentSkill, AgentStat,
                              CategorySkill, Customer, DispatchPolicy, RoutingDecision, Skill,
                              TeamMember, Ticket, User, utcnow)
from appliance.rules import routing

ROUTABLE_ROLES = ("agent", "supervisor")
# Statuses that occupy an agent: waiting on the customer does not (it frees capacity).
ACTIVE_STATUSES = ("new", "open", "pending_internal")
FAIRNESS_HOURS = 8       # assignments counted for the fairness component
PREVIOUS_TICKETS = 20    # the customer's recent tickets looked at for continuity


def policy_for(department_id: int | None) -> DispatchPolicy:
    """The department's policy, or an unsaved default one (skills-based, auto-assign)."""
    p = DispatchPolicy.get_or_none(DispatchPolicy.department == department_id) \
        if department_id else None
    return p or DispatchPolicy(department=department_id, weights=dict(routing.DEFAULT_WEIGHTS),
                               channel_weights={}, priority_weights={})


def weight_of(t: Ticket, policy: DispatchPolicy) -> float:
    return routing.ticket_weight(t.channel, t.priority, policy.channel_weights or {},
                                 policy.priority_weights or {})


def required_skills(t: Ticket) -> dict[str, int]:
    """Skill name -> minimum level: the ticket's (from triage) and its category's."""
    needs = {str(n): 1 for n in (t.required_skills or [])}
    if t.category_id:
        rows = (CategorySkill.select(Skill.name, CategorySkill.min_level).join(Skill)
                .where(CategorySkill.category == t.category_id).tuples())
        for name, level in rows:
            needs[name] = max(needs.get(name, 1), level)
    return needs


def vip_tier(customer_id: int | None) -> str:
    """A customer tagged "vip" (or "vip-gold", ...) has that tier; "" otherwise."""
    if not customer_id:
        return ""
    tags = Customer.select(Customer.tags).where(Customer.id == customer_id).scalar() or []
    return next((str(x).strip().casefold() for x in tags
                 if str(x).strip().casefold().startswith("vip")), "")


def previous_agents(t: Ticket) -> tuple[int, ...]:
    who = (Ticket.customer == t.customer_id) if t.customer_id else (
        (Ticket.requester == t.requester_id) if t.requester_id else None)
    if who is None:
        return ()
    rows = (Ticket.select(Ticket.assignee).where(who & (Ticket.id != t.id)
                                                 & Ticket.assignee.is_null(False))
            .order_by(Ticket.id.desc()).limit(PREVIOUS_TICKETS).tuples())
    return tuple(dict.fromkeys(r[0] for r in rows))[:3]


def needs_of(t: Ticket, policy: DispatchPolicy) -> routing.TicketNeeds:
    return routing.TicketNeeds(
        ticket_id=t.id, category_id=t.category_id, required_skills=required_skills(t),
        language=t.language or "", customer_id=t.customer_id, vip_tier=vip_tier(t.customer_id),
        previous_agents=previous_agents(t), weight=weight_of(t, policy))


def pool(department_id: int, policy: DispatchPolicy, widened: bool = False) -> list[int]:
    """Ids of the active agents who may get the department's tickets; with `widened`
    (after escalation) also the overflow department's and team's."""
    departments = [department_id]
    if widened and policy.overflow_department_id:
        departments.append(policy.overflow_department_id)
    q = User.select(User.id).where(User.active & User.role.in_(ROUTABLE_ROLES)
                                   & User.department.in_(departments))
    ids = {u.id for u in q}
    if widened and policy.overflow_team_id:
        ids |= {m.user_id for m in TeamMember.select(TeamMember.user).join(User).where(
            (TeamMember.team == policy.overflow_team_id) & User.active
            & User.role.in_(ROUTABLE_ROLES))}
    return sorted(ids)


def loads(user_ids: list[int]) -> dict[int, float]:
    """Current load units of each agent (each ticket weighed by its department's policy)."""
    out = {u: 0.0 for u in user_ids}
    if not user_ids:
        return out
    rows = list(Ticket.select(Ticket.assignee, Ticket.department, Ticket.channel,
                              Ticket.priority)
                .where(Ticket.assignee.in_(user_ids) & Ticket.is_open
                       & Ticket.status.in_(ACTIVE_STATUSES)))
    depts = sorted({r.department_id for r in rows} - {None})
    policies = {p.department_id: p for p in DispatchPolicy.select().where(
        DispatchPolicy.department.in_(depts))} if depts else {}
    default = policy_for(None)  # departments without a saved policy (no query)
    for r in rows:
        out[r.assignee_id] += weight_of(r, policies.get(r.department_id, default))
    return out


def load_of(user_id: int) -> float:
    return loads([user_id])[user_id]


def local_now(now: dt.datetime) -> dt.datetime:
    zone = ZoneInfo(runtime.settings().timezone)
    return now.replace(tzinfo=dt.timezone.utc).astimezone(zone).replace(tzinfo=None)


def agent_states(user_ids: list[int], category_id: int | None, now: dt.datetime | None = None
                 ) -> list[routing.AgentState]:
    """Routing state of the given agents for a ticket of `category_id`."""
    if not user_ids:
        return []
    now = now or utcnow()
    users = {u.id: u for u in User.select(User.id, User.display_name, User.capacity)
             .where(User.id.in_(user_ids))}
    profiles = {p.user_id: p for p in AgentProfile.select().where(AgentProfile.user.in_(user_ids))}
    skills, languages = _skills(user_ids)
    shifts: dict[int, list] = {}
    for s in AgentShift.select().where(AgentShift.user.in_(user_ids)):
        shifts.setdefault(s.user_id, []).append((s.weekday, s.start_minute, s.end_minute))
    on_break = {a.user_id for a in AgentAbsence.select(AgentAbsence.user).where(
        AgentAbsence.user.in_(user_ids) & (AgentAbsence.starts_at <= now)
        & (AgentAbsence.ends_at > now))}
    load, recent = loads(user_ids), _recent(user_ids, now)
    stats = _efficiency(user_ids, category_id)
    local = local_now(now)
    return [_state(users[u], profiles.get(u), skills.get(u, {}), languages.get(u, set()),
                   routing.on_shift(shifts.get(u, []), local), u in on_break, load[u],
                   recent.get(u, 0), stats.get(u)) for u in user_ids if u in users]


def _state(u, p, skills, languages, shift_ok, absent, load, recent, eff) -> routing.AgentState:
    return routing.AgentState(
        user_id=u.id, name=u.display_name, presence=p.presence if p else "offline",
        on_shift=shift_ok, on_break=absent, load=load, capacity=float(u.capacity),
        skills=skills, languages=frozenset(languages | set(p.languages if p else ())),
        allowed_category_ids=frozenset(p.allowed_category_ids if p else ()),
        allowed_customer_ids=frozenset(p.allowed_customer_ids if p else ()),
        vip_tiers=frozenset(p.vip_tiers if p else ("*",)),
        last_assigned_at=p.last_assigned_at if p else None, recent_assignments=recent,
        efficiency=eff)


def _skills(user_ids: list[int]) -> tuple[dict, dict]:
    skills: dict[int, dict[str, int]] = {}
    languages: dict[int, set] = {}
    rows = (AgentSkill.select(AgentSkill.user, AgentSkill.level, Skill.name, Skill.kind,
                              Skill.language).join(Skill).where(AgentSkill.user.in_(user_ids)))
    for r in rows:
        skills.setdefault(r.user_id, {})[r.skill.name] = r.level
        if r.skill.kind == "language" and r.skill.language:
            languages.setdefault(r.user_id, set()).add(r.skill.language)
    return skills, languages


def _recent(user_ids: list[int], now: dt.datetime) -> dict[int, int]:
    since = now - dt.timedelta(hours=FAIRNESS_HOURS)
    from peewee import fn
    rows = (RoutingDecision.select(RoutingDecision.agent, fn.COUNT(RoutingDecision.id))
            .where(RoutingDecision.agent.in_(user_ids) & (RoutingDecision.created_at >= since)
                   & RoutingDecision.mode.in_(("auto", "pulled")))
            .group_by(RoutingDecision.agent).tuples())
    return {u: n for u, n in rows}


def _efficiency(user_ids: list[int], category_id: int | None) -> dict[int, routing.Efficiency]:
    cond = (AgentStat.category == category_id) if category_id else AgentStat.category.is_null()
    return {s.user_id: routing.Efficiency(s.closed, s.median_handle_minutes, s.fcr_rate,
                                          s.reopen_rate, s.csat)
            for s in AgentStat.select().where(AgentStat.user.in_(user_ids) & cond)}
