"""Tickets: create, read, change fields, move through the state machine."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from appliance import dto
from appliance.db import run_sql
from appliance.errors import (Conflict, IllegalTransition, NotFound, PermissionDenied,
                              ValidationError)
from appliance.jobs import schedule, unit_of_work
from appliance.models import (Attachment, Category, Customer, CustomFieldDef, Department,
                              NumberSequence, Ticket, TicketTag, User, utcnow)
from appliance.rules import states
from appliance.rules.access import Actor, can_assign_to, can_edit_ticket, can_view_ticket
from appliance.rules.custom_fields import FieldDef, validate_custom_fields
from appliance.rules.numbering import format_number, parse_number
from appliance.services import common, customer_names, identity
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.settings import Settings

EDITABLE = ("subject", "priority", "urgency", "category_id", "department_id", "assignee_id",
            "customer_id", "tags", "custom_fields", "due_at")


@dataclass
class TicketInput:
    subject: str = ""
    description: str = ""
    channel: str = "web"
    priority: int | str | None = None
    urgency: str | None = None
    category_id: int | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    tags: list[str] = field(default_factory=list)
    custom_fields: dict = field(default_factory=dict)
    due_at: str | dt.datetime | None = None


_ACTIVE_FIELDS = (f'SELECT "key", "label", "kind", "options", "required" FROM '  # nosec B608  # values are parameters
                  f'"{CustomFieldDef._meta.table_name}" WHERE "active" = ? ORDER BY "position", "id"')


def field_defs(active_only: bool = True) -> list[FieldDef]:
    if active_only:   # every creation validates against these: hand-written SQL (db.run_sql)
        options, required = CustomFieldDef.options.python_value, CustomFieldDef.required.python_value
        return [FieldDef(key, label, kind, tuple(options(opts) or ()), required(req))
                for key, label, kind, opts, req in run_sql(_ACTIVE_FIELDS, (True,)).fetchall()]
    q = CustomFieldDef.select().order_by(CustomFieldDef.position, CustomFieldDef.id)
    return [FieldDef(d.key, d.label, d.kind, tuple(d.options), d.required) for d in q]


def _priority(value) -> int:
    try:
        p = int(str(value).upper().lstrip("P"))
    except (TypeError, ValueError):
        raise ValidationError({"priority": "must be 1, 2, 3 or 4 (P1 is most urgent)"}) from None
    if p not in states.PRIORITIES:
        raise ValidationError({"priority": "must be 1, 2, 3 or 4 (P1 is most urgent)"})
    return p


def _due(value) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError({"due_at": "must be an ISO 8601 date-time"}) from None
    if parsed.tzinfo:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _tags(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise ValidationError({"tags": "must be a list of words"})
    tags = sorted({common.clean_text(v, "tags", max_len=64, single_line=True) for v in value} - {""})
    if len(tags) > 20:
        raise ValidationError({"tags": "at most 20 tags"})
    return tags


def _clean_field(name: str, value, actor: Actor, department_id: int | None,
                 refs: dict | None = None):
    """Validate one editable field; returns the value to store. A related row's name read
    on the way goes into `refs` (the cache common.summary takes), so it is not read twice."""
    refs = {} if refs is None else refs
    if name == "subject":
        return common.clean_text(value, "subject", required=True, max_len=255, single_line=True)
    if name == "priority":
        return _priority(value)
    if name == "urgency":
        if value not in states.URGENCIES:
            raise ValidationError({"urgency": "must be low, medium or high"})
        return value
    if name == "category_id":
        return _ref(common.existing(Category, value, "category_id", Category.path), refs, "path")
    if name == "department_id":
        return _ref(common.existing(Department, value, "department_id", Department.name), refs)
    if name == "customer_id":
        return _customer(value, refs)
    if name == "assignee_id":
        return _assignee(value, actor, department_id, refs)
    if name == "tags":
        return _tags(value)
    if name == "due_at":
        return _due(value)
    raise ValidationError({name: "cannot be changed"})


def _ref(row, refs: dict, name_attr: str = "name") -> int | None:
    """The id of a looked-up row, its reference kept in `refs` for the summary."""
    if row is None:
        return None
    refs[(type(row), row.id)] = dto.Ref(row.id, getattr(row, name_attr))
    return row.id


def _customer(value, refs: dict) -> int | None:
    row = common.existing(Customer, value, "customer_id", Customer.name_enc,
                          Customer.merged_into)
    if row is not None and row.merged_into_id is not None:
        # A merged customer's old id (a stale link, an integration's cache) files the
        # ticket under the customer it was merged into, never under the tombstone.
        return identity.survivor(row.merged_into_id)
    if row is None:
        return None
    refs[(Customer, row.id)] = dto.Ref(row.id, customer_names.name_of(row))
    return row.id


def _assignee(value, actor: Actor, department_id: int | None, refs: dict | None = None
              ) -> int | None:
    user = common.existing(User, value, "assignee_id", User.display_name, User.role,
                           User.active, User.department)
    if user is None:
        return None
    if not user.is_staff or not user.active:
        raise ValidationError({"assignee_id": "must be an active agent"})
    if not can_assign_to(actor, user.department_id, department_id):
        raise ValidationError({"assignee_id": "agent is outside the ticket's department"})
    return _ref(user, {} if refs is None else refs, "display_name")


def _local_year(now_utc: dt.datetime, zone: str) -> int:
    """The year on the site's calendar (a ticket at 01:00 on 1 January in Beijing is new-year)."""
    from zoneinfo import ZoneInfo
    return now_utc.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(zone)).year


_NEXT = (f'UPDATE "{NumberSequence._meta.table_name}" SET "last" = "last" + 1 WHERE "year" = ?'  # nosec B608  # values are parameters
         ' RETURNING "last"')


def _next_number(settings: Settings, now: dt.datetime) -> str:
    """Allocate the next number for this year; the UPDATE takes the row lock (PostgreSQL)
    and returns the new value (one statement per creation)."""
    year = _local_year(now, settings.timezone)
    row = run_sql(_NEXT, (year,)).fetchone()
    if row is None:   # the year's first ticket (or two racing for it: ON CONFLICT)
        NumberSequence.insert(year=year, last=1).on_conflict(
            conflict_target=[NumberSequence.year],
            update={NumberSequence.last: NumberSequence.last + 1}).execute()
        row = (NumberSequence.get_by_id(year).last,)
    return format_number(settings.ticket_number_prefix, year, row[0])


def _validate_new(actor: Actor, data: TicketInput, refs: dict) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    fields = ["subject", "category_id"]
    if actor.is_staff:
        fields += ["tags", "department_id", "customer_id", "due_at"]
        if data.priority not in (None, ""):
            fields.append("priority")
        if data.urgency not in (None, ""):
            fields.append("urgency")
    for name in fields:
        try:
            values[name] = _clean_field(name, getattr(data, name), actor, None, refs)
        except ValidationError as exc:
            errors.update(exc.fields)
    try:
        values["description"] = common.clean_text(data.description, "description", max_len=100_000)
    except ValidationError as exc:
        errors.update(exc.fields)
    if data.channel not in states.CHANNELS:
        errors["channel"] = "must be one of " + ", ".join(states.CHANNELS)
    if actor.is_staff and data.assignee_id not in (None, "") and "department_id" in values:
        try:
            values["assignee_id"] = _assignee(data.assignee_id, actor, values["department_id"],
                                              refs)
        except ValidationError as exc:
            errors.update(exc.fields)
    if actor.is_customer and values.get("category_id") and \
            not Category.get_by_id(values["category_id"]).active:
        errors["category_id"] = "does not exist"  # customers file only under offered categories
    cf, cf_errors = validate_custom_fields(field_defs(), data.custom_fields or {})
    errors.update(cf_errors)
    values["custom_fields"] = cf
    values.setdefault("tags", [])
    if errors:
        raise ValidationError(errors)
    return values


def create_ticket(actor: Actor, data: TicketInput, settings: Settings, *,
                  parent_id: int | None = None, uploads: list[Upload] | None = None
                  ) -> dto.TicketDetail:
    refs: dict = {}  # names of the department, category... read while validating
    values = _validate_new(actor, data, refs)
    tags = values.pop("tags")
    if actor.is_customer:
        # A customer files for themselves, through the portal or with their own API token.
        values.update(customer_id=actor.customer_id,
                      channel=data.channel if data.channel in ("web", "api") else "web")
        requester = actor.user_id
    else:
        values["channel"] = data.channel
        requester = None
    now = utcnow()
    written = write_files(uploads or [], settings)  # all checked before anything is stored
    try:
        with unit_of_work():
            if parent_id is not None:
                common.ticket_for(actor, parent_id, edit=True)
            if values.get("assignee_id"):
                values.update(assignment_mode="manual", assigned_at=now)
            t = Ticket.create(number=_next_number(settings, now), requester=requester,
                              created_at=now, updated_at=now,
                              triage_state="pending" if settings.ai_enabled else "review",
                              **values)
            for tag in tags:
                TicketTag.create(ticket=t.id, tag=tag)
            events = [common.record(t.id, actor, "created",
                                    after={"number": t.number, "channel": t.channel})]
            files = _attach_files(actor, t.id, written, now, events)
            if parent_id is not None:
                from appliance.services.links import attach_child
                attach_child(actor, parent_id, t.id)
            schedule("index_ticket", t.id)
            if settings.ai_enabled:
                from appliance.services import triage  # noqa: F401  (registers its handlers)
                schedule("triage_ticket", t.id)
            elif t.department_id is not None and t.assignee_id is None:
                from appliance.services import dispatch  # noqa: F401  (registers its handlers)
                schedule("dispatch_ticket", t.id)
            if parent_id is None:  # processes' start rules (sub-tickets enter one by hand)
                from appliance.services.process_engine import schedule_start
                schedule_start(t.id)
    except BaseException:
        remove_files([w["storage_name"] for w in written], settings)
        raise
    if parent_id is not None:
        return get_ticket(actor, t.id, settings)  # links and the parent's access: read back
    from appliance.services.detail import new_ticket_detail
    return new_ticket_detail(actor, t, tags, events, files, refs, settings)


def _attach_files(actor: Actor, ticket_id: int, written: list[dict], now: dt.datetime,
                  events: list | None = None) -> list[Attachment]:
    """Files given with a new ticket belong to the ticket (public), not to a comment.
    Returns the rows; their timeline events are appended to `events`."""
    rows, events = [], [] if events is None else events
    for w in written:
        rows.append(Attachment.create(ticket=ticket_id, uploaded_by=actor.user_id or None,
                                      created_at=now, **w))
        events.append(common.record(ticket_id, actor, "attachment_added",
                                    after={"filename": w["filename"]}))
    return rows


def find_ticket_id(actor: Actor, reference: str) -> int:
    """The id of a ticket the actor may see, from what a person typed: a number or an id."""
    text = (reference or "").strip().lstrip("#")
    if parse_number(text) is not None:
        t = Ticket.get_or_none(Ticket.number == text.upper())
    elif text.isascii() and text.isdigit() and len(text) <= 18:
        t = Ticket.get_or_none(Ticket.id == int(text))
    else:
        raise ValidationError({"target": "enter a ticket number (GD-2026-000123) or id"})
    if t is None or not can_view_ticket(actor, common.facts(t)):
        raise NotFound("ticket not found", reference=text[:40])
    return t.id


def get_ticket(actor: Actor, ticket_id: int, settings: Settings) -> dto.TicketDetail:
    from appliance.services.detail import ticket_detail
    return ticket_detail(actor, common.ticket_for(actor, ticket_id), settings)


def _check_version(t: Ticket, expected_version) -> None:
    if expected_version in (None, ""):
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationError({"expected_version": "must be an integer"}) from None
    if expected != t.version:
        raise Conflict("the ticket was changed by someone else; reload and try again",
                       expected_version=expected, current_version=t.version)


def _save(t: Ticket, changes: dict, now: dt.datetime) -> None:
    """Write changes guarded by the version read, so a concurrent writer cannot be overwritten."""
    changes = {**changes, "updated_at": now, "version": t.version + 1}
    n = Ticket.update(**changes).where((Ticket.id == t.id) & (Ticket.version == t.version)).execute()
    if n != 1:
        raise Conflict("the ticket was changed by someone else; reload and try again",
                       current_version=Ticket.get_by_id(t.id).version)
    for k, v in changes.items():
        setattr(t, k, v)


def update_ticket(actor: Actor, ticket_id: int, changes: dict, settings: Settings, *,
                  expected_version=None) -> dto.TicketDetail:
    unknown = [k for k in changes if k not in EDITABLE and k != "status"]
    if unknown:
        raise ValidationError({k: "unknown or read-only field" for k in unknown})
    with unit_of_work():
        t = common.ticket_for(actor, ticket_id, edit=True, lock=True)
        _check_version(t, expected_version)
        before = _routing_facts(t)
        _apply_changes(actor, t, changes, utcnow())
        if "status" in changes and changes["status"] != t.status:
            _transition(actor, t, changes["status"], settings)
        _routing_changed(actor, t, before)
        schedule("index_ticket", t.id)
    return get_ticket(actor, ticket_id, settings)


STEP_FORM_FIELDS = ("subject", "priority", "urgency", "category_id", "due_at", "custom_fields")


def apply_step_form(actor: Actor, t: Ticket, changes: dict, *, expected_version=None) -> None:
    """A process task's form values, inside the caller's transaction, on a ticket it has
    locked, by an actor it has let complete the step (services/process_tasks.py: a
    step's holders need not be able to edit the ticket otherwise). Checked, versioned
    and on the timeline as any edit; only the fields a task form may set."""
    bad = [k for k in changes if k not in STEP_FORM_FIELDS]
    if bad:
        raise ValidationError({k: "unknown or read-only field" for k in bad})
    _check_version(t, expected_version)
    _apply_changes(actor, t, changes, utcnow())
    schedule("index_ticket", t.id)


def _routing_facts(t: Ticket) -> dict:
    return {"assignee_id": t.assignee_id, "status": t.status, "department_id": t.department_id}


def _routing_changed(actor: Actor, t: Ticket, before: dict) -> None:
    """A person set the assignee: a manual assignment that routing respects."""
    from appliance.services import dispatch, dispatch_actions
    if t.assignee_id != before["assignee_id"]:
        now = utcnow()
        mode = "manual" if t.assignee_id else ""
        Ticket.update(assignment_mode=mode, assigned_at=now if t.assignee_id else None).where(
            Ticket.id == t.id).execute()
        t.assignment_mode, t.assigned_at = mode, (now if t.assignee_id else None)
        dispatch_actions.manual_decision(actor, t, t.assignee_id, "", now)
    dispatch.after_change(t, before)


def _apply_changes(actor: Actor, t: Ticket, changes: dict, now: dt.datetime) -> None:
    new_department = changes.get("department_id", t.department_id)
    if "department_id" in changes:
        new_department = _clean_field("department_id", changes["department_id"], actor, None)
    row_changes, errors = {}, {}
    for name in [k for k in changes if k in EDITABLE]:
        try:
            if name == "custom_fields":
                value = _merge_custom(t, changes[name])
            else:
                value = _clean_field(name, changes[name], actor, new_department)
        except ValidationError as exc:
            errors.update(exc.fields)
            continue
        before = _tags_of(t) if name == "tags" else getattr(t, name)
        if value != before:
            row_changes[name] = value
    if errors:
        raise ValidationError(errors)
    tags = row_changes.pop("tags", None)
    if tags is not None:
        common.record(t.id, actor, "field_changed", "tags", _tags_of(t), tags)
        TicketTag.delete().where(TicketTag.ticket == t.id).execute()
        for tag in tags:
            TicketTag.create(ticket=t.id, tag=tag)
    for name, value in row_changes.items():
        common.record(t.id, actor, "assigned" if name == "assignee_id" else "field_changed",
                      name, _jsonable(getattr(t, name)), _jsonable(value))
    if row_changes or tags is not None:
        _save(t, {_column(k): v for k, v in row_changes.items()}, now)


def _column(name: str) -> str:
    return name[:-3] if name.endswith("_id") else name


def _jsonable(v):
    return v.isoformat() if isinstance(v, dt.datetime) else v


def _merge_custom(t: Ticket, values) -> dict:
    if not isinstance(values, dict):
        raise ValidationError({"custom_fields": "must be an object"})
    cleaned, errors = validate_custom_fields(field_defs(), values, partial=True)
    if errors:
        raise ValidationError(errors)
    merged = {**t.custom_fields, **cleaned}
    for key, value in values.items():
        if value in (None, "", []):
            merged.pop(key, None)
    return merged


def _tags_of(t: Ticket) -> list[str]:
    return sorted(r.tag for r in TicketTag.select(TicketTag.tag).where(TicketTag.ticket == t.id))


def allowed_for(actor: Actor, t: Ticket, settings: Settings) -> list[str]:
    ended = t.closed_at or t.resolved_at
    return states.allowed_transitions(t.status, ended_at=ended, now=utcnow(),
                                      window_days=settings.reopen_window_days,
                                      by_customer=actor.is_customer)


def _transition(actor: Actor, t: Ticket, to_status: str, settings: Settings) -> None:
    if to_status not in states.STATUSES:
        raise ValidationError({"status": "must be one of " + ", ".join(states.STATUSES)})
    allowed = allowed_for(actor, t, settings)
    if to_status not in allowed:
        raise IllegalTransition(t.status, to_status, allowed)
    now = utcnow()
    changes = {"status": to_status, "is_open": states.is_open(to_status)}
    if to_status == "resolved":
        changes["resolved_at"] = now
        if settings.ai_enabled and settings.kb_drafts:
            # After commit, the worker drafts a knowledge article from the conversation
            # (services.knowledge_learning decides whether the ticket is worth one).
            schedule("draft_article", t.id)
    if to_status == "closed":
        changes["closed_at"] = now
        changes["resolved_at"] = t.resolved_at or now
    if to_status == "open" and t.status in ("resolved", "closed"):
        changes.update(resolved_at=None, closed_at=None)
        common.record(t.id, actor, "reopened", "status", t.status, to_status)
    else:
        common.record(t.id, actor, "status_changed", "status", t.status, to_status)
    # A resolution (resolved, or closed by staff without one) gets its satisfaction survey.
    resolution = to_status == "resolved" or (to_status == "closed" and t.resolved_at is None
                                             and not actor.is_customer)
    _save(t, changes, now)
    if resolution:
        from appliance.services import csat, follow_up
        csat.on_resolved(t, now, settings)
        follow_up.on_resolved(t, now, settings)   # a follow-up visit when a rule matches


def transition_ticket(actor: Actor, ticket_id: int, to_status: str, settings: Settings, *,
                      expected_version=None) -> dto.TicketDetail:
    with unit_of_work():
        t = common.ticket_for(actor, ticket_id, lock=True)
        # Staff who may only read it (a process step's holders) do not change its status.
        if not actor.is_customer and not can_edit_ticket(actor, common.facts(t, steps=False)):
            raise PermissionDenied("you may not change this ticket")
        common.ensure_live(t)
        _check_version(t, expected_version)
        before = _routing_facts(t)
        _transition(actor, t, to_status, settings)
        from appliance.services import dispatch
        dispatch.after_change(t, before)
        schedule("index_ticket", t.id)
    return get_ticket(actor, ticket_id, settings)

