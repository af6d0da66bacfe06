"""Scheduled e-mail reports (docs/decisions/0041, docs/reports.md): supervisors and
administrators save a dashboard filter that is mailed as a CSV or XLSX file every day,
week or month to internal users.

Rules:
- Recipients are user ids, never typed addresses (no way to mail data outside): active
  staff with an e-mail address, in the owner's department unless the owner sees every
  department (reports.scope of an administrator).
- A schedule fires at `hour` local time (its `time_zone`) and reports the period that
  just ended: yesterday, the seven days before, or the previous calendar month.
- Exactly once per (schedule, period): a ReportRun row with a unique (schedule,
  period_key) is inserted before anything is queued; a second worker or a retry finds it
  and queues nothing. The mail itself goes through the outbox (services.mail_outbound:
  claimed sends, retries with back-off), its body and attachment made at send time by
  services.reports_schedule_mail under the OWNER's permissions.
- An owner who is disabled or lost report.view sends nothing: the schedule is paused with
  the reason shown on its page.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee

from appliance.db import database, is_postgres
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import schedule as schedule_job
from appliance.models import MailMessage, ReportRun, ReportSchedule, User, utcnow
from appliance.rules.access import STAFF, Actor, can_view_reports
from appliance.services import audit, mail_addresses, user_emails

log = logging.getLogger(__name__)

FREQUENCIES = ("daily", "weekly", "monthly")
FORMATS = ("csv", "xlsx")
FILTER_KEYS = ("department", "channel", "agent", "category")
MAX_RECIPIENTS = 20
MAX_PER_OWNER = 50
DEFAULT_ZONE = "Asia/Shanghai"
MAIL_KIND = "report:"          # outbox rows: kind "report:<run id>"


@dataclass(frozen=True)
class ScheduleInput:
    name: str
    frequency: str
    weekday: int | None
    day: int | None
    hour: int
    time_zone: str
    recipients: tuple[int, ...]
    format: str
    params: dict


@dataclass(frozen=True)
class ScheduleView:
    id: int
    name: str
    frequency: str
    weekday: int | None
    day: int | None
    hour: int
    time_zone: str
    recipients: list[int]
    format: str
    params: dict
    active: bool
    paused_reason: str
    last_sent_at: dt.datetime | None
    next_run_at: dt.datetime | None
    version: int


# -- input --------------------------------------------------------------------------------

def _int(raw: Mapping, name: str, lo: int, hi: int, errors: dict) -> int | None:
    value = str(raw.get(name) or "").strip()
    if not value.isdigit() or not lo <= int(value) <= hi:
        errors[name] = f"must be a whole number from {lo} to {hi}"
        return None
    return int(value)


def parse_input(raw: Mapping, recipients: list) -> ScheduleInput:
    """The form's fields (strings) and the chosen recipient ids; ValidationError names
    every bad field."""
    errors: dict = {}
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = "is required (at most 100 characters)"
    frequency = str(raw.get("frequency") or "")
    if frequency not in FREQUENCIES:
        errors["frequency"] = "must be daily, weekly or monthly"
    weekday = _int(raw, "weekday", 0, 6, errors) if frequency == "weekly" else None
    day = _int(raw, "day", 1, 28, errors) if frequency == "monthly" else None
    hour = _int(raw, "hour", 0, 23, errors)
    zone = str(raw.get("time_zone") or DEFAULT_ZONE).strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = "is not a known time zone (like Asia/Shanghai)"
    fmt = str(raw.get("format") or "")
    if fmt not in FORMATS:
        errors["format"] = "must be csv or xlsx"
    ids = _ids(recipients, errors)
    params = {k: str(raw.get(k) or "").strip() for k in FILTER_KEYS if str(raw.get(k) or "").strip()}
    _check_filter(params, errors)
    if errors:
        raise ValidationError(errors)
    return ScheduleInput(name, frequency, weekday, day, hour or 0, zone, ids, fmt, params)


def _ids(values, errors: dict) -> tuple[int, ...]:
    out = []
    for v in values or []:
        if not str(v).strip().isdigit():
            errors["recipients"] = "must be chosen from the list"
            return ()
        out.append(int(v))
    out = sorted(set(out))
    if not out:
        errors["recipients"] = "choose at least one recipient"
    elif len(out) > MAX_RECIPIENTS:
        errors["recipients"] = f"at most {MAX_RECIPIENTS} recipients"
    return tuple(out)


def _check_filter(params: dict, errors: dict) -> None:
    from appliance.services import reports
    today = dt.date.today()
    try:
        reports.parse_filter({**params, "from": today.isoformat(), "to": today.isoformat()}, today)
    except ValidationError as exc:
        errors.update(exc.fields)


# -- who ----------------------------------------------------------------------------------

def _require(actor: Actor) -> None:
    if not can_view_reports(actor):
        raise PermissionDenied("only supervisors and administrators schedule reports")


def recipient_choices(actor: Actor) -> list[User]:
    """Active staff with an address the actor may send to: everyone for a reader of every
    department, else the actor's own department (and the actor)."""
    _require(actor)
    q = User.select().where(User.active == True, User.role.in_(sorted(STAFF)),  # noqa: E712
                            user_emails.has_email())
    if not _sees_all(actor):
        q = q.where((User.department == actor.department_id) | (User.id == actor.user_id)
                    if actor.department_id is not None else (User.id == actor.user_id))
    return list(q.order_by(User.display_name, User.id))


def _sees_all(actor: Actor) -> bool:
    return actor.is_admin or actor.can("ticket.view_all")


def _check_scope(actor: Actor, params: dict) -> None:
    """The saved filter within what the owner may see (a supervisor: own department)."""
    from appliance.services import reports
    today = dt.date.today()
    flt = reports.parse_filter({**params, "from": today.isoformat(), "to": today.isoformat()},
                               today)
    try:
        reports.scoped(actor, flt)
    except PermissionDenied:
        raise ValidationError({"department": "is outside the departments you may report on"}) from None


def _check_recipients(actor: Actor, ids) -> None:
    allowed = {u.id for u in recipient_choices(actor)}
    if set(ids) - allowed:
        raise ValidationError({"recipients": "must be internal users you may send reports to"})


def owner_problem(owner: User | None) -> str:
    """Why the owner may no longer send ("" when it may)."""
    from appliance.services.users import actor_of
    if owner is None or not owner.active:
        return "the owner's account is disabled"
    if not can_view_reports(actor_of(owner)):
        return "the owner may no longer view reports"
    return ""


# -- CRUD ---------------------------------------------------------------------------------

def _view(s: ReportSchedule) -> ScheduleView:
    return ScheduleView(s.id, s.name, s.frequency, s.weekday, s.day, s.hour, s.time_zone,
                        list(s.recipients or []), s.format, dict(s.params or {}), s.active,
                        s.paused_reason, s.last_sent_at, s.next_run_at, s.version)


def list_schedules(actor: Actor) -> list[ScheduleView]:
    _require(actor)
    return [_view(s) for s in ReportSchedule.select().where(ReportSchedule.owner == actor.user_id)
            .order_by(ReportSchedule.name, ReportSchedule.id)]


def _own(actor: Actor, schedule_id: int, lock: bool = False) -> ReportSchedule:
    q = ReportSchedule.select().where((ReportSchedule.id == schedule_id)
                                      & (ReportSchedule.owner == actor.user_id))
    s = (q.for_update() if lock and is_postgres() else q).first()
    if s is None:   # another owner's schedule is not found, as a ticket of another department
        raise NotFound("schedule not found", id=schedule_id)
    return s


def get_schedule(actor: Actor, schedule_id: int) -> ScheduleView:
    _require(actor)
    return _view(_own(actor, schedule_id))


def create_schedule(actor: Actor, data: ScheduleInput, now: dt.datetime | None = None) -> ScheduleView:
    _require(actor)
    _check_recipients(actor, data.recipients)
    _check_scope(actor, data.params)
    now = now or utcnow()
    with database.atomic():
        if ReportSchedule.select().where(ReportSchedule.owner == actor.user_id).count() >= MAX_PER_OWNER:
            raise ValidationError({"name": f"at most {MAX_PER_OWNER} schedules each"})
        s = ReportSchedule.create(owner=actor.user_id, **_fields(data))
        s.next_run_at = next_run(s, now)
        s.save()
        audit.record("report.schedule_created", actor_id=actor.user_id,
                     object_type="report_schedule", object_id=s.id, detail=_detail(data))
    return _view(s)


def update_schedule(actor: Actor, schedule_id: int, data: ScheduleInput, expected_version: int,
                    now: dt.datetime | None = None) -> ScheduleView:
    """Change a schedule (resumes a paused one); 409 when someone changed it meanwhile."""
    _require(actor)
    _check_recipients(actor, data.recipients)
    _check_scope(actor, data.params)
    with database.atomic():
        s = _own(actor, schedule_id, lock=True)
        if s.version != expected_version:
            raise Conflict("the schedule was changed meanwhile", version=s.version)
        for k, v in _fields(data).items():
            setattr(s, k, v)
        s.active, s.paused_reason, s.version = True, "", s.version + 1
        s.next_run_at = next_run(s, now or utcnow())
        s.save()
        audit.record("report.schedule_updated", actor_id=actor.user_id,
                     object_type="report_schedule", object_id=s.id, detail=_detail(data))
    return _view(s)


def delete_schedule(actor: Actor, schedule_id: int) -> None:
    _require(actor)
    with database.atomic():
        s = _own(actor, schedule_id, lock=True)
        s.delete_instance()
        audit.record("report.schedule_deleted", actor_id=actor.user_id,
                     object_type="report_schedule", object_id=schedule_id)


def _fields(data: ScheduleInput) -> dict:
    return {"name": data.name, "frequency": data.frequency, "weekday": data.weekday,
            "day": data.day, "hour": data.hour, "time_zone": data.time_zone,
            "recipients": list(data.recipients), "format": data.format, "params": data.params}


def _detail(data: ScheduleInput) -> dict:
    return {"frequency": data.frequency, "format": data.format, "filter": data.params,
            "recipients": list(data.recipients)}


# -- when ---------------------------------------------------------------------------------

def _fires_on(s, day: dt.date) -> bool:
    if s.frequency == "weekly":
        return day.weekday() == s.weekday
    if s.frequency == "monthly":
        return day.day == s.day
    return True


def next_run(s, after: dt.datetime) -> dt.datetime:
    """The first firing strictly after `after` (naive UTC), as naive UTC."""
    zone = ZoneInfo(s.time_zone)
    local = after.replace(tzinfo=dt.timezone.utc).astimezone(zone)
    for n in range(0, 63):
        day = local.date() + dt.timedelta(days=n)
        if not _fires_on(s, day):
            continue
        at = dt.datetime.combine(day, dt.time(s.hour), tzinfo=zone).astimezone(dt.timezone.utc)
        at = at.replace(tzinfo=None)
        if at > after:
            return at
    raise ValueError("no firing within two months")  # cannot happen for days 1..28


def period(s, fired_at: dt.datetime) -> tuple[str, dt.date, dt.date]:
    """(period_key, first day, last day) reported by the firing at `fired_at` (naive UTC)."""
    day = fired_at.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(s.time_zone)).date()
    last = day - dt.timedelta(days=1)
    if s.frequency == "daily":
        return f"D:{last.isoformat()}", last, last
    if s.frequency == "weekly":
        return f"W:{last.isoformat()}", last - dt.timedelta(days=6), last
    first_of_this = day.replace(day=1)
    last = first_of_this - dt.timedelta(days=1)
    return f"M:{last.strftime('%Y-%m')}", last.replace(day=1), last


# -- the periodic task ----------------------------------------------------------------------

def run_due(now: dt.datetime | None = None, limit: int = 100) -> int:
    """Queue the report of every due schedule (gongdan.report_schedules, each minute);
    returns how many mails were queued. Safe on several workers at once."""
    now = now or utcnow()
    ids = [r.id for r in ReportSchedule.select(ReportSchedule.id).where(
        (ReportSchedule.active == True) & ReportSchedule.next_run_at.is_null(False)  # noqa: E712
        & (ReportSchedule.next_run_at <= now)).order_by(ReportSchedule.next_run_at).limit(limit)]
    return sum(fire(i, now) for i in ids)


def fire(schedule_id: int, now: dt.datetime) -> bool:
    """One due schedule: the run row (unique per period), the outbox row and its job, the
    next firing, all in one transaction. True when a mail was queued."""
    with database.atomic():
        s = ReportSchedule.get_or_none(ReportSchedule.id == schedule_id)
        if s is None or not s.active or s.next_run_at is None or s.next_run_at > now:
            return False
        due_at = s.next_run_at
        moved = ReportSchedule.update(next_run_at=next_run(s, now)).where(
            (ReportSchedule.id == s.id) & (ReportSchedule.next_run_at == due_at)).execute()
        if not moved:
            return False        # another worker took this firing
        problem = owner_problem(User.get_or_none(User.id == s.owner_id))
        if problem:
            pause(s.id, problem)
            return False
        key, first, last = period(s, due_at)
        run = _claim_period(s.id, key, first, last)
        if run is None:
            return False
        to = _addresses(s)
        if not to:
            ReportRun.update(status="skipped").where(ReportRun.id == run.id).execute()
            pause(s.id, "none of the recipients may receive reports any more")
            return False
        mail = mail_addresses.create(direction="out", to_addresses=to, status="queued",
                                  subject=_subject(s, first, last), kind=f"{MAIL_KIND}{run.id}",
                                  next_attempt_at=utcnow())
        ReportRun.update(mail=mail.id).where(ReportRun.id == run.id).execute()
        ReportSchedule.update(last_sent_at=now).where(ReportSchedule.id == s.id).execute()
        schedule_job("send_mail", mail.id)
    log.info("report schedule %s queued mail %s for %s", s.id, mail.id, key)
    return True


def _claim_period(schedule_id: int, key: str, first: dt.date, last: dt.date) -> ReportRun | None:
    """The new run row, or None when this period was already taken (savepoint: on
    PostgreSQL a failed insert would otherwise abort the whole transaction)."""
    try:
        with database.atomic():
            return ReportRun.create(schedule=schedule_id, period_key=key, date_from=first,
                                    date_to=last)
    except peewee.IntegrityError:
        return None


def _addresses(s: ReportSchedule) -> list[str]:
    """The recipients' current addresses, those the owner may still send to."""
    from appliance.services.users import actor_of
    owner = User.get_by_id(s.owner_id)
    allowed = {u.id: user_emails.email_of(u) for u in recipient_choices(actor_of(owner))}
    return sorted({allowed[i] for i in (s.recipients or []) if i in allowed})


def _subject(s: ReportSchedule, first: dt.date, last: dt.date) -> str:
    span = first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"
    name = " ".join(s.name.split())      # no line breaks into a header
    return f"Gongdan 报表 / report: {name} ({span})"[:900]


def pause(schedule_id: int, reason: str) -> None:
    ReportSchedule.update(active=False, paused_reason=reason[:200],
                          version=ReportSchedule.version + 1).where(
        ReportSchedule.id == schedule_id).execute()
    audit.record("report.schedule_paused", actor_id=None, object_type="report_schedule",
                 object_id=schedule_id, detail={"reason": reason[:200]})
    log.warning("report schedule %s paused: %s", schedule_id, reason)
