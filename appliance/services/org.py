"""Organisation set-up: departments, teams, skills, categories and custom fields."""
from __future__ import annotations

import re

from appliance import dto
from appliance.errors import NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (AgentSkill, Category, CustomFieldDef, Department, Skill, Team,
                              TeamMember, User)
from appliance.models.org import SKILL_KINDS
from appliance.rules.access import Actor
from appliance.rules.custom_fields import KINDS
from appliance.rules.dispatch_config import clean_languages
from appliance.services import common
from appliance.services.users import _require_admin

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def department_view(d: Department) -> dto.DepartmentView:
    return _department_views([d])[0]


def _department_views(rows: list[Department]) -> list[dto.DepartmentView]:
    """Views of many departments with one query for all their teams."""
    teams: dict[int, list[dto.Ref]] = {d.id: [] for d in rows}
    if teams:
        for t in (Team.select().where(Team.department.in_(list(teams)))
                  .order_by(Team.name, Team.id)):
            teams[t.department_id].append(dto.Ref(t.id, t.name))
    return [dto.DepartmentView(d.id, d.code, d.name, d.name_en, d.active, teams[d.id])
            for d in rows]


def get_department(department_id: int) -> dto.DepartmentView:
    d = Department.get_or_none(Department.id == department_id)
    if d is None:
        raise NotFound("department not found", id=department_id)
    return department_view(d)


def list_departments(active_only: bool = False) -> list[dto.DepartmentView]:
    q = Department.select().order_by(Department.code)
    if active_only:
        q = q.where(Department.active == True)  # noqa: E712
    return _department_views(list(q))


KEEP = object()  # save_department(lead_id=KEEP): leave the lead as it is


def save_department(actor: Actor, code: str, name: str, name_en: str = "", active: bool = True,
                    department_id: int | None = None, lead_id=KEEP) -> dto.DepartmentView:
    """Create or change a department; `lead_id` (an active staff member, None for none)
    is who approves as its "department lead" in processes."""
    _require_admin(actor)
    code = common.clean_text(code, "code", required=True, max_len=32, single_line=True)
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    name_en = common.clean_text(name_en, "name_en", max_len=100, single_line=True)
    lead = KEEP if lead_id is KEEP else _staff_member(lead_id, "lead_id")
    with unit_of_work():
        clash = Department.select().where(Department.code == code)
        if department_id:
            clash = clash.where(Department.id != department_id)
        if clash.exists():
            raise ValidationError({"code": "already used"})
        if department_id:
            _keep_process_department(department_id, code, active)
            if not Department.update(code=code, name=name, name_en=name_en, active=active).where(
                    Department.id == department_id).execute():
                raise NotFound("department not found", id=department_id)
            d = Department.get_by_id(department_id)
        else:
            d = Department.create(code=code, name=name, name_en=name_en, active=active)
        if lead is not KEEP:
            Department.update(lead=lead).where(Department.id == d.id).execute()
    return department_view(d)


def _staff_member(user_id, field: str) -> int | None:
    user = common.existing(User, user_id, field, User.role, User.active)
    if user is None:
        return None
    if not user.is_staff or not user.active:
        raise ValidationError({field: "must be an active agent"})
    return user.id


def department_lead(department_id: int) -> int | None:
    """The lead's user id (for the admin form)."""
    return Department.select(Department.lead).where(Department.id == department_id).scalar()


def _keep_process_department(department_id, code: str, active: bool) -> None:
    """Processes name departments by code: one in use cannot be renamed or deactivated."""
    old = Department.get_or_none(Department.id == department_id)
    if old is None or (old.code == code and (active or not old.active)):
        return
    from appliance.services.process_defs import processes_using_department
    using = processes_using_department(old.code)
    if using:
        raise ValidationError({"code" if old.code != code else "active":
                               "used by published processes: " + ", ".join(using)})


def add_team(actor: Actor, department_id: int, name: str, member_ids: list[int] = ()) -> dto.Ref:
    _require_admin(actor)
    dept = common.exists(Department, department_id, "department_id")
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    with unit_of_work():
        if Team.select().where((Team.department == dept) & (Team.name == name)).exists():
            raise ValidationError({"name": "already used in this department"})
        team = Team.create(department=dept, name=name)
        for uid in member_ids:
            TeamMember.create(team=team, user=common.exists(User, uid, "member_ids"))
    return dto.Ref(team.id, team.name)


def list_skills() -> list[dto.Ref]:
    return [dto.Ref(s.id, s.name) for s in Skill.select().order_by(Skill.name)]


def skill_catalogue() -> list[dict]:
    """Every skill with what it is about (kind, language code), for the admin page."""
    return [{"id": s.id, "name": s.name, "kind": s.kind, "language": s.language,
             "description": s.description} for s in Skill.select().order_by(Skill.kind, Skill.name)]


def save_skill(actor: Actor, name: str, description: str = "", kind: str = "general",
               language: str = "") -> dto.Ref:
    """A new skill; a language skill (kind "language") names its language code, which
    routing matches against the ticket's language."""
    _require_admin(actor)
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    language = _skill_language(kind, language)
    with unit_of_work():
        if Skill.select().where(Skill.name == name).exists():
            raise ValidationError({"name": "already exists"})
        s = Skill.create(name=name, description=common.clean_text(description, "description",
                                                                  max_len=255),
                         kind=kind, language=language)
    return dto.Ref(s.id, s.name)


def _skill_language(kind: str, language: str) -> str:
    if kind not in SKILL_KINDS:
        raise ValidationError({"kind": "must be one of " + ", ".join(SKILL_KINDS)})
    if kind != "language":
        return ""
    codes, problem = clean_languages([language or ""])
    if problem or not language:
        raise ValidationError({"language": "required for a language skill: a code such as "
                                           "zh, en or ja"})
    return codes[0]


def set_agent_skill(actor: Actor, user_id: int, skill_id: int, level: int | None) -> None:
    """Give an agent a skill at level 1-5; level None removes it."""
    _require_admin(actor)
    uid = common.exists(User, user_id, "user_id")
    sid = common.exists(Skill, skill_id, "skill_id")
    if uid is None or sid is None:
        raise ValidationError({"user_id" if uid is None else "skill_id": "required"})
    with unit_of_work():
        AgentSkill.delete().where((AgentSkill.user == uid) & (AgentSkill.skill == sid)).execute()
        if level not in (None, "", 0, "0"):
            try:
                lvl = int(level)
            except (TypeError, ValueError):
                raise ValidationError({"level": "must be 1 to 5"}) from None
            if not 1 <= lvl <= 5:
                raise ValidationError({"level": "must be 1 to 5"})
            AgentSkill.create(user=uid, skill=sid, level=lvl)


def category_view(c: Category) -> dto.CategoryView:
    return dto.CategoryView(c.id, c.name, c.path, c.parent_id, c.department_id, c.active)


def get_category(category_id: int) -> dto.CategoryView:
    c = Category.get_or_none(Category.id == category_id)
    if c is None:
        raise NotFound("category not found", id=category_id)
    return category_view(c)


def list_categories(active_only: bool = False) -> list[dto.CategoryView]:
    q = Category.select().order_by(Category.path)
    if active_only:
        q = q.where(Category.active == True)  # noqa: E712
    return [category_view(c) for c in q]


def save_category(actor: Actor, name: str, parent_id=None, department_id=None,
                  active: bool = True, category_id: int | None = None) -> dto.CategoryView:
    _require_admin(actor)
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    if "/" in name:
        raise ValidationError({"name": "must not contain /"})
    parent = common.exists(Category, parent_id, "parent_id")
    dept = common.exists(Department, department_id, "department_id")
    with unit_of_work():
        if category_id and parent and _descends(parent, int(category_id)):
            raise ValidationError({"parent_id": "a category cannot be inside itself"})
        path = (Category.get_by_id(parent).path + " / " if parent else "") + name
        clash = Category.select().where((Category.parent == parent) & (Category.name == name))
        if category_id:
            clash = clash.where(Category.id != category_id)
        if clash.exists():
            raise ValidationError({"name": "already exists at this level"})
        values = dict(name=name, parent=parent, department=dept, active=active, path=path)
        if category_id:
            if not Category.update(**values).where(Category.id == category_id).execute():
                raise NotFound("category not found", id=category_id)
            _repath_children(int(category_id))
            c = Category.get_by_id(category_id)
        else:
            c = Category.create(**values)
    return category_view(c)


def _descends(candidate: int, ancestor: int) -> bool:
    node = Category.get_or_none(Category.id == candidate)
    while node is not None:
        if node.id == ancestor:
            return True
        node = Category.get_or_none(Category.id == node.parent_id) if node.parent_id else None
    return False


def _repath_children(parent_id: int) -> None:
    parent = Category.get_by_id(parent_id)
    for child in Category.select().where(Category.parent == parent_id):
        Category.update(path=parent.path + " / " + child.name).where(Category.id == child.id).execute()
        _repath_children(child.id)


def custom_field_view(d: CustomFieldDef) -> dto.CustomFieldView:
    return dto.CustomFieldView(d.id, d.key, d.label, d.kind, list(d.options), d.required,
                               d.active, d.position)


def get_custom_field(field_id: int) -> dto.CustomFieldView:
    d = CustomFieldDef.get_or_none(CustomFieldDef.id == field_id)
    if d is None:
        raise NotFound("custom field not found", id=field_id)
    return custom_field_view(d)


def list_custom_fields(active_only: bool = False) -> list[dto.CustomFieldView]:
    q = CustomFieldDef.select().order_by(CustomFieldDef.position, CustomFieldDef.id)
    if active_only:
        q = q.where(CustomFieldDef.active == True)  # noqa: E712
    return [custom_field_view(d) for d in q]


def save_custom_field(actor: Actor, key: str, label: str, kind: str, options=(),
                      required: bool = False, active: bool = True, position: int = 0,
                      field_id: int | None = None) -> dto.CustomFieldView:
    _require_admin(actor)
    errors = {}
    if not _KEY.match(key or ""):
        errors["key"] = "lower-case letters, digits and _, starting with a letter"
    if kind not in KINDS:
        errors["kind"] = "must be one of " + ", ".join(KINDS)
    if isinstance(options, str):
        options = [o.strip() for o in options.replace("\n", ",").split(",")]
    options = [o for o in dict.fromkeys(options or []) if o]
    if kind in ("select", "multiselect") and not options:
        errors["options"] = "list at least one option"
    try:
        position = int(position or 0)
    except (TypeError, ValueError):
        errors["position"] = "must be a whole number"
    if errors:
        raise ValidationError(errors)
    label = common.clean_text(label, "label", required=True, max_len=100, single_line=True)
    with unit_of_work():
        clash = CustomFieldDef.select().where(CustomFieldDef.key == key)
        if field_id:
            clash = clash.where(CustomFieldDef.id != field_id)
        if clash.exists():
            raise ValidationError({"key": "already used"})
        values = dict(key=key, label=label, kind=kind, options=options, required=required,
                      active=active, position=position)
        if field_id:
            _keep_process_field(field_id, key, active)
            if not CustomFieldDef.update(**values).where(CustomFieldDef.id == field_id).execute():
                raise NotFound("custom field not found", id=field_id)
            d = CustomFieldDef.get_by_id(field_id)
        else:
            d = CustomFieldDef.create(**values)
    return custom_field_view(d)


def _keep_process_field(field_id, key: str, active: bool) -> None:
    """Processes read custom fields by key: one in use cannot be renamed or deactivated."""
    old = CustomFieldDef.get_or_none(CustomFieldDef.id == field_id)
    if old is None or (old.key == key and (active or not old.active)):
        return
    from appliance.services.process_defs import processes_using_field
    using = processes_using_field(old.key)
    if using:
        raise ValidationError({"key" if old.key != key else "active":
                               "used by published processes: " + ", ".join(using)})
