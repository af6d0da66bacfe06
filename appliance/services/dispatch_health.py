"""The dispatch health check: configuration that keeps tickets from reaching an agent.

Each problem is a code with parameters and a severity ("error": tickets cannot be
routed, "warning": something looks unintended); the views turn codes into sentences in
the reader's language. Read-only, a handful of queries whatever the size of the set-up.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from peewee import fn

from appliance.models import (AgentSkill, Category, CategorySkill, Department, DispatchPolicy,
                              QueueEntry, Skill, User)
from appliance.rules import routing
from appliance.rules.access import Actor
from appliance.services.dispatch_state import ROUTABLE_ROLES
from appliance.services.users import _require_admin

UNROUTABLE = ("no_agents", "nobody_qualified")  # queue reasons only a set-up change fixes


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str  # error | warning
    params: dict = field(default_factory=dict)


def health(actor: Actor) -> list[Problem]:
    """Everything an administrator should fix, errors first."""
    _require_admin(actor)
    departments = {d.id: d for d in Department.select()}
    agents = list(User.select(User.id, User.display_name, User.department)
                  .where(User.active & User.role.in_(ROUTABLE_ROLES)).order_by(User.id))
    problems = (_homeless(agents) + _empty_pools(departments, agents)
                + _missing_skills(departments, agents) + _waiting(departments)
                + _inactive_category_skills() + _cycles(departments))
    return sorted(problems, key=lambda p: p.severity != "error")


def _dept(d) -> dict:
    return {"department_id": d.id, "department": d.name}


def _homeless(agents: list[User]) -> list[Problem]:
    return [Problem("agent_without_department", "warning", {"user_id": a.id,
                                                            "name": a.display_name})
            for a in agents if a.department_id is None]


def _empty_pools(departments: dict, agents: list[User]) -> list[Problem]:
    staffed = {a.department_id for a in agents}
    manual = {p.department_id for p in DispatchPolicy.select(DispatchPolicy.department)
              .where(DispatchPolicy.auto_assign == False)}  # noqa: E712
    return [Problem("department_without_agents", "error", _dept(d))
            for d in sorted(departments.values(), key=lambda d: d.code)
            if d.active and d.id not in manual and d.id not in staffed]


def _missing_skills(departments: dict, agents: list[User]) -> list[Problem]:
    """A skill an active category of a department needs that none of its agents has at
    the minimum level: that category's tickets wait there for ever."""
    levels: dict[tuple[int, int], int] = {}  # (department, skill) -> best level
    by_user = {a.id: a.department_id for a in agents if a.department_id}
    if by_user:
        for user_id, skill_id, level in (AgentSkill.select(AgentSkill.user, AgentSkill.skill,
                                                           AgentSkill.level)
                                         .where(AgentSkill.user.in_(list(by_user))).tuples()):
            key = (by_user[user_id], skill_id)
            levels[key] = max(levels.get(key, 0), level)
    rows = (CategorySkill.select(CategorySkill.min_level, Category.id, Category.path,
                                 Category.department, Skill.id, Skill.name)
            .join(Category).switch(CategorySkill).join(Skill)
            .where(Category.active & Category.department.is_null(False))
            .order_by(Category.path, Skill.name))
    problems = []
    for r in rows:
        d = departments.get(r.category.department_id)
        if d is None or not d.active or levels.get((d.id, r.skill.id), 0) >= r.min_level:
            continue
        problems.append(Problem("required_skill_missing", "error", {
            **_dept(d), "category_id": r.category.id, "category": r.category.path,
            "skill_id": r.skill.id, "skill": r.skill.name, "min_level": r.min_level}))
    return problems


def _waiting(departments: dict) -> list[Problem]:
    rows = (QueueEntry.select(QueueEntry.department, QueueEntry.reason,
                              fn.COUNT(QueueEntry.ticket))
            .where(QueueEntry.reason.in_(UNROUTABLE))
            .group_by(QueueEntry.department, QueueEntry.reason)
            .order_by(QueueEntry.department, QueueEntry.reason).tuples())
    return [Problem("tickets_waiting_unroutable", "error",
                    {**_dept(departments[d]), "reason": reason, "count": count})
            for d, reason, count in rows if d in departments]


def _inactive_category_skills() -> list[Problem]:
    rows = (CategorySkill.select(CategorySkill.min_level, Category.id, Category.path, Skill.id,
                                 Skill.name)
            .join(Category).switch(CategorySkill).join(Skill)
            .where(Category.active == False).order_by(Category.path, Skill.name))  # noqa: E712
    return [Problem("skill_on_inactive_category", "warning", {
        "category_id": r.category.id, "category": r.category.path, "skill_id": r.skill.id,
        "skill": r.skill.name}) for r in rows]


def _cycles(departments: dict) -> list[Problem]:
    """Overflow chains that loop (saved before the check existed, or by the demo)."""
    edges = {p.department_id: p.overflow_department_id for p in DispatchPolicy.select(
        DispatchPolicy.department, DispatchPolicy.overflow_department)}
    seen: set[frozenset] = set()
    problems = []
    for start in sorted(edges):
        cycle = routing.overflow_cycle(edges, start)
        if cycle and frozenset(cycle) not in seen:
            seen.add(frozenset(cycle))
            codes = " → ".join(departments[i].code if i in departments else str(i)
                               for i in cycle)
            problems.append(Problem("overflow_cycle", "warning", {"departments": codes}))
    return problems
