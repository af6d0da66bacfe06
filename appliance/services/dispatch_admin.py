"""Administration of dispatch: each department's routing policy, the skills a category
needs, and the overview an administrator checks the set-up with.

Administrators only. Bad input is one ValidationError naming every offending field
(weights.skill, overflow_department_id, ...) with a plain-English message the views
translate. Agent profiles, shifts and absences live in dispatch_profiles (re-exported
here, so that callers find all of dispatch's administration in one place); the health
check lives in dispatch_health.
"""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw
from peewee import JOIN, fn

from appliance import dto
from appliance.db import is_postgres
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Category, CategorySkill, Department, DispatchPolicy, QueueEntry,
                              Skill, Team, User, utcnow)
from appliance.rules import dispatch_config, routing, states
from appliance.rules.access import Actor
from appliance.services.dispatch_health import Problem, health  # noqa: F401
from appliance.services.dispatch_profiles import (PROFILE_CHANGED,  # noqa: F401
                                                  AbsenceView, ProfileView, ShiftView,
                                                  add_absence, customer_choices,
                                                  delete_absence, get_profile, list_staff,
                                                  save_profile)
from appliance.services.users import _require_admin

POLICY_FIELDS = ("auto_assign", "strategy", "weights", "channel_weights", "priority_weights",
                 "escalate_after_minutes", "lead_id", "overflow_department_id",
                 "overflow_team_id")
PRIORITY_KEYS = tuple(str(p) for p in states.PRIORITIES)
POLICY_CHANGED = "the dispatch policy was changed by someone else; reload and try again"
INACTIVE_CATEGORY = "the category is inactive; activate it before it requires skills"
BAD_LEAD = "must be an active agent or supervisor of the department, or an administrator"
LEAD_ROLES = ("agent", "supervisor")  # of the department itself; administrators of any


@dataclass(frozen=True)
class PolicyView:
    department: dto.Ref
    auto_assign: bool
    strategy: str
    weights: dict
    channel_weights: dict
    priority_weights: dict
    escalate_after_minutes: int
    lead_id: int | None
    overflow_department_id: int | None
    overflow_team_id: int | None
    version: int  # 0: never saved, the defaults apply


@dataclass(frozen=True)
class DepartmentDispatch:
    """One row of the overview."""
    department: dto.Ref
    code: str
    active: bool
    auto_assign: bool
    strategy: str
    escalate_after_minutes: int
    overflow_department: dto.Ref | None
    waiting: int
    version: int


@dataclass(frozen=True)
class RequiredSkill:
    skill_id: int
    skill: str
    min_level: int


@dataclass(frozen=True)
class CategorySkills:
    category: dto.CategoryView
    skills: list[RequiredSkill]


# --- policies --------------------------------------------------------------------------------

def _department(department_id) -> Department:
    d = Department.get_or_none(Department.id == department_id)
    if d is None:
        raise NotFound("department not found", id=department_id)
    return d


def _policy_view(d: Department, p: DispatchPolicy | None) -> PolicyView:
    saved = p is not None
    p = p or DispatchPolicy(weights=dict(routing.DEFAULT_WEIGHTS))
    return PolicyView(dto.Ref(d.id, d.name), p.auto_assign, p.strategy, dict(p.weights or {}),
                      dict(p.channel_weights or {}), dict(p.priority_weights or {}),
                      p.escalate_after_minutes, p.lead_id, p.overflow_department_id,
                      p.overflow_team_id, p.version if saved else 0)


def get_policy(actor: Actor, department_id: int) -> PolicyView:
    _require_admin(actor)
    d = _department(department_id)
    return _policy_view(d, DispatchPolicy.get_or_none(DispatchPolicy.department == d.id))


def save_policy(actor: Actor, department_id: int, data: dict,
                expected_version: int | None = None) -> PolicyView:
    """Change the department's policy; fields left out keep their value. A changed policy
    may let waiting tickets through, so the department's queue is tried again."""
    _require_admin(actor)
    d = _department(department_id)
    unknown = sorted(set(data) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError({k: "unknown field" for k in unknown})
    try:
        with unit_of_work():
            current = _locked_policy(d.id)
            version = current.version if current else 0
            if expected_version is not None and expected_version != version:
                raise Conflict(POLICY_CHANGED, version=version)
            values = checked_policy(d.id, {**_policy_values(current), **data})
            if current is None:
                DispatchPolicy.create(department=d.id, version=1, **values)
            else:
                (DispatchPolicy.update(version=DispatchPolicy.version + 1, updated_at=utcnow(),
                                       **values)
                 .where(DispatchPolicy.department == d.id).execute())
            schedule("dispatch_department", d.id)
    except pw.IntegrityError:  # someone else saved the first version meanwhile
        raise Conflict(POLICY_CHANGED) from None
    return get_policy(actor, d.id)


def _locked_policy(department_id: int) -> DispatchPolicy | None:
    q = DispatchPolicy.select().where(DispatchPolicy.department == department_id)
    return (q.for_update() if is_postgres() else q).first()


def _policy_values(p: DispatchPolicy | None) -> dict:
    p = p or DispatchPolicy(weights=dict(routing.DEFAULT_WEIGHTS))
    return {"auto_assign": p.auto_assign, "strategy": p.strategy, "weights": p.weights or {},
            "channel_weights": p.channel_weights or {},
            "priority_weights": p.priority_weights or {},
            "escalate_after_minutes": p.escalate_after_minutes, "lead_id": p.lead_id,
            "overflow_department_id": p.overflow_department_id,
            "overflow_team_id": p.overflow_team_id}


def checked_policy(department_id: int, v: dict) -> dict:
    """The policy's column values, or a ValidationError naming every bad field."""
    errors: dict[str, str] = {}
    if v["strategy"] not in routing.STRATEGIES:
        errors["strategy"] = "must be one of " + ", ".join(routing.STRATEGIES)
    if not isinstance(v["auto_assign"], bool):
        errors["auto_assign"] = "must be true or false"
    errors.update(routing.weight_errors(v["weights"]))
    channel = _string_keys(v["channel_weights"])
    priority = _string_keys(v["priority_weights"])
    errors.update(routing.unit_weight_errors(channel, "channel_weights", states.CHANNELS))
    errors.update(routing.unit_weight_errors(priority, "priority_weights", PRIORITY_KEYS))
    problem = dispatch_config.escalation_error(v["escalate_after_minutes"])
    if problem:
        errors["escalate_after_minutes"] = problem
    lead = _id(v["lead_id"], "lead_id", errors)
    if lead is not None and not User.select().where(
            (User.id == lead) & _may_lead(department_id)).exists():
        errors["lead_id"] = BAD_LEAD  # else told of tickets they cannot open
    overflow = _id(v["overflow_department_id"], "overflow_department_id", errors)
    _overflow_problem(department_id, overflow, errors)
    team = _id(v["overflow_team_id"], "overflow_team_id", errors)
    if team is not None and not Team.select().where(Team.id == team).exists():
        errors["overflow_team_id"] = "does not exist"
    if errors:
        raise ValidationError(errors)
    return {"auto_assign": v["auto_assign"], "strategy": v["strategy"],
            "weights": {c: float(v["weights"].get(c, 0)) for c in routing.COMPONENTS},
            "channel_weights": {k: float(x) for k, x in channel.items()},
            "priority_weights": {k: float(x) for k, x in priority.items()},
            "escalate_after_minutes": v["escalate_after_minutes"], "lead": lead,
            "overflow_department": overflow, "overflow_team": team}


def _may_lead(department_id: int):
    """Who may be told about the department's escalations: those who can open its tickets."""
    return User.active & ((User.role == "admin") | (
        User.role.in_(LEAD_ROLES) & (User.department == department_id)))


def lead_choices(actor: Actor, department_id: int, keep: int | None = None) -> list[dto.Ref]:
    """The people who may lead the department's escalations (one query), and `keep` (the
    current lead) even when no longer allowed, so that a form shows it and saving says why."""
    _require_admin(actor)
    cond = _may_lead(department_id)
    if keep is not None:
        cond |= User.id == keep
    return [dto.Ref(i, name) for i, name in User.select(User.id, User.display_name).where(cond)
            .order_by(User.display_name, User.id).tuples()]


def _string_keys(weights):
    """JSON keys are strings; a Python caller may use priorities 1..4 as numbers."""
    return {str(k): x for k, x in weights.items()} if isinstance(weights, dict) else weights


def _id(value, field: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    checked = dispatch_config.as_id(value)
    if checked is None:
        errors[field] = "must be an id"
    return checked


def _overflow_problem(department_id: int, overflow: int | None, errors: dict) -> None:
    if overflow is None:
        return
    if overflow == department_id:
        errors["overflow_department_id"] = "cannot be the department itself"
        return
    if not Department.select().where(Department.id == overflow).exists():
        errors["overflow_department_id"] = "does not exist"
        return
    edges = {p.department_id: p.overflow_department_id for p in DispatchPolicy.select(
        DispatchPolicy.department, DispatchPolicy.overflow_department)}
    edges[department_id] = overflow
    cycle = routing.overflow_cycle(edges, department_id)
    if cycle and department_id in cycle:  # a cycle elsewhere is not this change's doing
        errors["overflow_department_id"] = "would make an overflow cycle: " + department_codes(
            cycle)


def department_codes(ids: list[int]) -> str:
    codes = dict(Department.select(Department.id, Department.code)
                 .where(Department.id.in_(list(set(ids)))).tuples())
    return " → ".join(codes.get(i, str(i)) for i in ids)


def overview(actor: Actor) -> list[DepartmentDispatch]:
    """Every department's routing set-up and how many tickets wait in its queue."""
    _require_admin(actor)
    departments = list(Department.select().order_by(Department.code))
    names = {d.id: dto.Ref(d.id, d.name) for d in departments}
    policies = {p.department_id: p for p in DispatchPolicy.select()}
    waiting = dict(QueueEntry.select(QueueEntry.department, fn.COUNT(QueueEntry.ticket))
                   .group_by(QueueEntry.department).tuples())
    rows = []
    for d in departments:
        p = policies.get(d.id) or DispatchPolicy()
        rows.append(DepartmentDispatch(
            names[d.id], d.code, d.active, p.auto_assign, p.strategy, p.escalate_after_minutes,
            names.get(p.overflow_department_id), waiting.get(d.id, 0),
            p.version if d.id in policies else 0))
    return rows


# --- skills a category needs -------------------------------------------------------------------

def _category(category_id) -> Category:
    c = Category.get_or_none(Category.id == category_id)
    if c is None:
        raise NotFound("category not found", id=category_id)
    return c


def category_skills(actor: Actor, category_id: int) -> CategorySkills:
    _require_admin(actor)
    return _category_skills(_category(category_id))


def _category_skills(c: Category) -> CategorySkills:
    rows = (CategorySkill.select(CategorySkill, Skill).join(Skill)
            .where(CategorySkill.category == c.id).order_by(Skill.name))
    return CategorySkills(dto.CategoryView(c.id, c.name, c.path, c.parent_id, c.department_id,
                                           c.active),
                          [RequiredSkill(r.skill_id, r.skill.name, r.min_level) for r in rows])


def list_category_skills(actor: Actor) -> list[CategorySkills]:
    """Every category with the skills it needs (one query)."""
    _require_admin(actor)
    rows = (Category.select(Category.id, Category.name, Category.path, Category.parent,
                            Category.department, Category.active, CategorySkill.skill,
                            Skill.name, CategorySkill.min_level)
            .join(CategorySkill, JOIN.LEFT_OUTER, on=(CategorySkill.category == Category.id))
            .join(Skill, JOIN.LEFT_OUTER, on=(CategorySkill.skill == Skill.id))
            .order_by(Category.path, Category.id, Skill.name).tuples())
    out: dict[int, CategorySkills] = {}
    for cid, name, path, parent, dept, active, skill_id, skill, level in rows:
        if cid not in out:
            out[cid] = CategorySkills(dto.CategoryView(cid, name, path, parent, dept, active), [])
        if skill_id is not None:
            out[cid].skills.append(RequiredSkill(skill_id, skill, level))
    return list(out.values())


def set_category_skill(actor: Actor, category_id: int, skill_id, min_level) -> CategorySkills:
    """Require a skill at min_level (1-5) for the category's tickets; None removes it.
    Removing is allowed on an inactive category (to clean up), requiring is not."""
    return set_category_skills(actor, category_id, None, {skill_id: min_level})


def set_category_skills(actor: Actor, category_id: int, rows: list[dict] | None,
                        changes: dict | None = None) -> CategorySkills:
    """Replace the category's required skills with `rows` ([{skill_id, min_level}]), or
    with `changes` ({skill_id: level or None}) apply changes to the current ones."""
    _require_admin(actor)
    c = _category(category_id)
    wanted = _wanted_skills(c, rows, changes)
    with unit_of_work():
        if rows is not None:
            CategorySkill.delete().where(CategorySkill.category == c.id).execute()
        for skill_id, level in wanted.items():
            CategorySkill.delete().where((CategorySkill.category == c.id)
                                         & (CategorySkill.skill == skill_id)).execute()
            if level is not None:
                CategorySkill.create(category=c.id, skill=skill_id, min_level=level)
    return _category_skills(c)


def _wanted_skills(c: Category, rows, changes) -> dict[int, int | None]:
    errors: dict[str, str] = {}
    if rows is not None:
        if not isinstance(rows, list):
            raise ValidationError({"skills": "must be a list of {skill_id, min_level}"})
        rows = [r if isinstance(r, dict) else {} for r in rows]
        pairs = [(f"skills[{i}].", r.get("skill_id"), r.get("min_level"))
                 for i, r in enumerate(rows)]
    else:
        pairs = [("", s, lvl) for s, lvl in changes.items()]
    wanted: dict[int, int | None] = {}
    for prefix, skill, level in pairs:
        skill_id = _id(skill, prefix + "skill_id", errors)
        if skill_id is None and prefix + "skill_id" not in errors:
            errors[prefix + "skill_id"] = "required"
        elif skill_id is not None and not Skill.select().where(Skill.id == skill_id).exists():
            errors[prefix + "skill_id"] = "does not exist"
        elif skill_id in wanted:
            errors[prefix + "skill_id"] = "listed twice"
        level = _level(level, prefix + "min_level", errors, removable=rows is None)
        if skill_id is not None:
            wanted[skill_id] = level
    if any(level is not None for level in wanted.values()) and not c.active:
        errors["category_id"] = INACTIVE_CATEGORY
    if errors:
        raise ValidationError(errors)
    return wanted


def _level(value, field: str, errors: dict, removable: bool) -> int | None:
    if removable and value in (None, "", 0, "0"):
        return None
    value = dispatch_config.as_int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        errors[field] = "must be 1 to 5"
        return None
    return value
