"""Administration of agents' dispatch profiles: what they may handle (categories,
customers, VIP tiers), the languages they speak, their capacity, weekly shifts and
absences (breaks, leave, training). Administrators only.

Anything that can give an agent room for more work (more capacity, other permissions
or shifts, an absence removed) schedules "dispatch_agent", so waiting tickets that
agent may now take are tried again after the commit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance import dto
from appliance.errors import Conflict, NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (AgentAbsence, AgentProfile, AgentShift, Category, Customer,
                              Department, User, utcnow)
from appliance.models.org import STAFF_ROLES
from appliance.services.dispatch_state import ROUTABLE_ROLES
from appliance.rules import dispatch_config as config
from appliance.rules.access import Actor
from appliance.services import common, customer_names, dispatch
from appliance.services.users import _capacity, _require_admin, _user_views

PROFILE_FIELDS = ("allowed_category_ids", "allowed_customer_ids", "vip_tiers", "languages",
                  "capacity", "shifts")
PERMISSIONS = ("allowed_category_ids", "allowed_customer_ids", "vip_tiers")
MAX_IDS = 500
PROFILE_CHANGED = "the dispatch profile was changed by someone else; reload and try again"


@dataclass(frozen=True)
class ShiftView:
    weekday: int  # 0 = Monday
    start: str    # "HH:MM", local time
    end: str      # "HH:MM"; not after start means the shift runs past midnight


@dataclass(frozen=True)
class AbsenceView:
    id: int
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str


@dataclass(frozen=True)
class ProfileView:
    user: dto.Ref
    username: str
    role: str
    department: dto.Ref | None
    capacity: int
    allowed_category_ids: list[int]
    allowed_customer_ids: list[int]
    vip_tiers: list[str]
    languages: list[str]
    shifts: list[ShiftView]
    absences: list[AbsenceView]  # current and future ones, soonest first
    version: int


def _staff(user_id) -> User:
    u = User.get_or_none(User.id == user_id)
    if u is None or u.role not in STAFF_ROLES:
        raise NotFound("user not found", id=user_id)
    return u


def get_profile(actor: Actor, user_id: int) -> ProfileView:
    _require_admin(actor)
    u = _staff(user_id)
    p = AgentProfile.get_or_none(AgentProfile.user == u.id) or AgentProfile(user=u.id)
    dept = Department.get_or_none(Department.id == u.department_id) if u.department_id else None
    shifts = (AgentShift.select().where(AgentShift.user == u.id)
              .order_by(AgentShift.weekday, AgentShift.start_minute))
    return ProfileView(
        dto.Ref(u.id, u.display_name), u.username, u.role, common.ref(dept), u.capacity,
        list(p.allowed_category_ids or []), list(p.allowed_customer_ids or []),
        list(p.vip_tiers or []), list(p.languages or []),
        [ShiftView(s.weekday, config.hhmm(s.start_minute), config.hhmm(s.end_minute))
         for s in shifts],
        [_absence_view(a) for a in _absences(u.id)], p.version)


def _absences(user_id: int) -> list[AgentAbsence]:
    return list(AgentAbsence.select().where((AgentAbsence.user == user_id)
                                            & (AgentAbsence.ends_at > utcnow()))
                .order_by(AgentAbsence.starts_at, AgentAbsence.id))


def _absence_view(a: AgentAbsence) -> AbsenceView:
    return AbsenceView(a.id, a.kind, a.starts_at, a.ends_at, a.note)


def list_staff(actor: Actor) -> list[dto.UserView]:
    """Everyone who can have a dispatch profile (staff, not customers)."""
    _require_admin(actor)
    return _user_views(list(User.select().where(User.role.in_(STAFF_ROLES))
                            .order_by(User.username)))


def customer_choices(actor: Actor, selected=(), limit: int = MAX_IDS) -> list[dto.Ref]:
    """Customers to pick from (id and name only, one query): the first `limit` by id and
    those in `selected` (ids or digits from a form), which stay selectable beyond them."""
    _require_admin(actor)
    chosen = sorted({i for i in (config.as_id(v) for v in selected) if i is not None})
    first = Customer.select(Customer.id).order_by(Customer.id).limit(limit)
    cond = Customer.id.in_(first)
    if chosen:
        cond |= Customer.id.in_(chosen)
    return [dto.Ref(c.id, customer_names.name_of(c)) for c in
            Customer.select(Customer.id, Customer.name_enc).where(cond).order_by(Customer.id)]


NO_DEPARTMENT = ("the agent is in no department, so routing can never reach them: "
                 "set a department on the user's page first")


def save_profile(actor: Actor, user_id: int, data: dict,
                 expected_version: int | None = None) -> ProfileView:
    """Change the given fields of the agent's profile (shifts: the whole week at once);
    with `expected_version`, only if nobody changed the profile since it was read."""
    _require_admin(actor)
    u = _staff(user_id)
    if u.role in ROUTABLE_ROLES and u.department_id is None:
        # Routing draws agents from departments: a profile for nobody's pool is a mistake.
        raise ValidationError({"department_id": NO_DEPARTMENT})
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError({k: "unknown field" for k in unknown})
    dispatch.ensure_profile(u.id)
    with unit_of_work():
        p = dispatch.lock_profile(u.id)
        if expected_version is not None and expected_version != p.version:
            raise Conflict(PROFILE_CHANGED, version=p.version)
        clean = checked_profile(data, p.allowed_category_ids or [])
        freed = any(k in clean and list(clean[k]) != list(getattr(p, k) or [])
                    for k in PERMISSIONS)
        fields = {k: clean[k] for k in (*PERMISSIONS, "languages") if k in clean}
        AgentProfile.update(version=AgentProfile.version + 1, **fields).where(
            AgentProfile.user == u.id).execute()
        if "capacity" in clean:
            freed |= clean["capacity"] > User.get_by_id(u.id).capacity
            User.update(capacity=clean["capacity"], version=User.version + 1).where(
                User.id == u.id).execute()
        if "shifts" in clean:
            freed |= _replace_shifts(u.id, clean["shifts"])
        if freed:
            dispatch.agent_freed(u.id)
    return get_profile(actor, u.id)


def checked_profile(data: dict, stored_category_ids=()) -> dict:
    """The given fields cleaned, or a ValidationError naming every bad one. Categories
    already allowed (`stored_category_ids`) may stay when they became inactive: dropping
    them would widen the agent's permissions; only adding an inactive one is refused."""
    errors: dict[str, str] = {}
    clean: dict = {}
    if "allowed_category_ids" in data:
        kept = [i for i in stored_category_ids if isinstance(i, int)]
        clean["allowed_category_ids"] = _ids(
            data["allowed_category_ids"], "allowed_category_ids", errors,
            Category.select(Category.id).where((Category.active == True)  # noqa: E712
                                               | Category.id.in_(kept)),
            "unknown or inactive categories: ")
    if "allowed_customer_ids" in data:
        clean["allowed_customer_ids"] = _ids(
            data["allowed_customer_ids"], "allowed_customer_ids", errors,
            Customer.select(Customer.id), "unknown customers: ")
    for name, cleaner in (("vip_tiers", config.clean_tiers), ("languages", config.clean_languages)):
        if name in data:
            clean[name], problem = cleaner(data[name])
            if problem:
                errors[name] = problem
    if "capacity" in data:
        try:
            clean["capacity"] = _capacity(data["capacity"])
        except ValidationError as exc:
            errors.update(exc.fields)
    if "shifts" in data:
        clean["shifts"], problems = config.parse_shifts(data["shifts"])
        errors.update(problems)
    if errors:
        raise ValidationError(errors)
    return clean


def _ids(values, field: str, errors: dict, existing, message: str) -> list[int]:
    """Distinct ids from a list (numbers, or digits from a form), all found in `existing`."""
    if not isinstance(values, list) or len(values) > MAX_IDS:
        errors[field] = f"must be a list of at most {MAX_IDS} ids"
        return []
    ids = []
    for v in values:
        v = config.as_int(v)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v < 2**31:
            errors[field] = "must be a list of ids"
            return []
        ids.append(v)
    ids = sorted(set(ids))
    found = {r.id for r in existing.where(existing.model.id.in_(ids))} if ids else set()
    missing = [i for i in ids if i not in found]
    if missing:
        errors[field] = message + ", ".join(str(i) for i in missing)
    return ids


def _replace_shifts(user_id: int, shifts: list[config.Shift]) -> bool:
    """Store the agent's week; True when it differs from the one stored."""
    before = sorted((s.weekday, s.start_minute, s.end_minute) for s in
                    AgentShift.select().where(AgentShift.user == user_id))
    after = sorted((s.weekday, s.start_minute, s.end_minute) for s in shifts)
    if before == after:
        return False
    AgentShift.delete().where(AgentShift.user == user_id).execute()
    for weekday, start, end in after:
        AgentShift.create(user=user_id, weekday=weekday, start_minute=start, end_minute=end)
    return True


# --- absences ----------------------------------------------------------------------------------

def add_absence(actor: Actor, user_id: int, kind: str, starts_at, ends_at,
                note: str = "") -> AbsenceView:
    """A break, leave or training (UTC times; ISO 8601 text with an offset is converted)."""
    _require_admin(actor)
    u = _staff(user_id)
    errors: dict[str, str] = {}
    if kind not in config.ABSENCE_KINDS:
        errors["kind"] = "must be one of " + ", ".join(config.ABSENCE_KINDS)
    start = _when(starts_at, "starts_at", errors)
    end = _when(ends_at, "ends_at", errors)
    if start and end and end <= start:
        errors["ends_at"] = "must be after the start"
    elif start and end and end - start > dt.timedelta(days=config.MAX_ABSENCE_DAYS):
        errors["ends_at"] = f"at most {config.MAX_ABSENCE_DAYS} days after the start"
    try:
        note = common.clean_text(note, "note", max_len=200, single_line=True)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    with unit_of_work():
        a = AgentAbsence.create(user=u.id, kind=kind, starts_at=start, ends_at=end, note=note)
    return _absence_view(a)


def _when(value, field: str, errors: dict) -> dt.datetime | None:
    if value in (None, ""):
        errors[field] = "required"
        return None
    try:
        parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(
            str(value).strip().replace("Z", "+00:00"))
        if parsed.tzinfo:  # 0001-01-01T00:00+08:00 is before year 1 in UTC: OverflowError
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        errors[field] = "must be an ISO 8601 date-time"
        return None
    return parsed


def delete_absence(actor: Actor, user_id: int, absence_id: int) -> None:
    """Cancel an absence; the agent may be able to take work again at once."""
    _require_admin(actor)
    u = _staff(user_id)
    with unit_of_work():
        n = AgentAbsence.delete().where((AgentAbsence.id == absence_id)
                                        & (AgentAbsence.user == u.id)).execute()
        if not n:
            raise NotFound("absence not found", id=absence_id)
        dispatch.agent_freed(u.id)
