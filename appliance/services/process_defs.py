"""Process definitions (docs/decisions/0018): versions of one JSON document per key,
draft → published → retired, for administrators.

A key has at most one draft (the highest version while it exists), saved as often as
wanted with `expected_version` = the draft's `revision` the editor read (409 when someone
saved it since). Publishing validates against the current organisation (fields,
departments, the webhook allow-list) and refuses with every problem and its JSON path;
it retires the version published before, whose running tickets stay on it. Import takes
a whole document (refused the same way) as a new draft.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import peewee

from appliance import dto, runtime
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (CustomFieldDef, Department, ProcessDefinition, ProcessInstance,
                              User, utcnow)
from appliance.rules.access import Actor
from appliance.rules import process_definition as rules
from appliance.rules.process_conditions import FIELD_TYPES
from appliance.rules.process_problems import Problem

EXAMPLES = Path(__file__).resolve().parent.parent / "processes"
MAX_BYTES = 512 * 1024


class DefinitionProblems(ValidationError):
    """The definition cannot be published or imported: `problems` lists why, each with
    its JSON path; `fields` maps each path to its message, as other validation errors do."""

    def __init__(self, problems: list[Problem], message: str = "the process definition has problems"):
        super().__init__({p.path or "document": p.message for p in problems}, message)
        self.problems = problems
        self.details["problems"] = [{"path": p.path, "code": p.code, "message": p.message,
                                     "params": p.params} for p in problems]


@dataclass(frozen=True)
class DefinitionView:
    key: str
    version: int
    status: str
    name: str
    revision: int
    document: dict
    problems: list[Problem] = field(default_factory=list)
    created_by: dto.Ref | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    published_by: dto.Ref | None = None
    published_at: dt.datetime | None = None
    retired_at: dt.datetime | None = None


@dataclass(frozen=True)
class DefinitionSummary:
    key: str
    name: str
    latest_version: int
    latest_status: str
    published_version: int | None
    draft_version: int | None
    updated_at: dt.datetime
    live_instances: int
    error_instances: int


def _require_admin(actor: Actor) -> None:
    if not actor.can("process.admin"):
        raise PermissionDenied("administrators only")


def known_fields() -> dict[str, str]:
    """Field name -> type that conditions and forms may use: the ticket fields and the
    active custom fields (`custom.<key>`: text, number, date, select, multiselect)."""
    custom = {f"custom.{d.key}": d.kind for d in CustomFieldDef.select(
        CustomFieldDef.key, CustomFieldDef.kind).where(CustomFieldDef.active == True)}  # noqa: E712
    return {**FIELD_TYPES, **custom}


def known_departments() -> frozenset[str]:
    return frozenset(d.code for d in Department.select(Department.code).where(
        Department.active == True))  # noqa: E712


def problems_of(document) -> list[Problem]:
    """What publishing this document would refuse, against the organisation as it is now."""
    return rules.validate(document, known_fields(), runtime.settings().process_webhook_hosts,
                          known_departments())


def validate_definition(actor: Actor, document) -> list[Problem]:
    """The designer's and the API's check before publishing (administrators)."""
    _require_admin(actor)
    return problems_of(document)


def display_name(document) -> str:
    name = document.get("name") if isinstance(document, dict) else None
    if isinstance(name, dict):
        return str(name.get("zh") or name.get("en") or "")[:200]
    return str(name or "")[:200]


def _view(row: ProcessDefinition, with_problems: bool = True) -> DefinitionView:
    names = dict(User.select(User.id, User.display_name).where(
        User.id.in_([i for i in (row.created_by_id, row.published_by_id) if i] or [0])).tuples())

    def ref(user_id):
        return dto.Ref(user_id, names.get(user_id, "")) if user_id else None
    return DefinitionView(row.key, row.version, row.status, row.name or row.key, row.revision,
                          row.document, problems_of(row.document) if with_problems else [],
                          ref(row.created_by_id), row.created_at, row.updated_at,
                          ref(row.published_by_id), row.published_at, row.retired_at)


def _row(key: str, version) -> ProcessDefinition:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ValidationError({"version": "must be an integer"}) from None
    row = ProcessDefinition.get_or_none((ProcessDefinition.key == str(key))
                                        & (ProcessDefinition.version == number))
    if row is None:
        raise NotFound("process version not found", key=str(key)[:64], version=number)
    return row


# -- reading -------------------------------------------------------------------------------

def list_definitions(actor: Actor) -> list[DefinitionSummary]:
    """One row per process key, with its versions and how many tickets run it."""
    _require_admin(actor)
    rows = list(ProcessDefinition.select(
        ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version,
        ProcessDefinition.status, ProcessDefinition.name, ProcessDefinition.updated_at)
        .order_by(ProcessDefinition.key, ProcessDefinition.version))
    counts: dict[tuple[str, str], int] = {}
    for key, status, n in (ProcessInstance.select(ProcessInstance.key, ProcessInstance.status,
                                                  peewee.fn.COUNT(ProcessInstance.id))
                           .group_by(ProcessInstance.key, ProcessInstance.status).tuples()):
        counts[(key, status)] = n
    by_key: dict[str, list] = {}
    for r in rows:
        by_key.setdefault(r.key, []).append(r)
    out = []
    for key, versions in by_key.items():
        latest = versions[-1]
        published = [v.version for v in versions if v.status == "published"]
        drafts = [v.version for v in versions if v.status == "draft"]
        out.append(DefinitionSummary(
            key, latest.name or key, latest.version, latest.status,
            published[-1] if published else None, drafts[-1] if drafts else None,
            max(v.updated_at for v in versions),
            counts.get((key, "running"), 0) + counts.get((key, "waiting"), 0),
            counts.get((key, "error"), 0)))
    return out


def get_definition(actor: Actor, key: str, version=None) -> DefinitionView:
    """One version (None: the latest, which is the draft while there is one)."""
    _require_admin(actor)
    if version in (None, ""):
        row = (ProcessDefinition.select().where(ProcessDefinition.key == str(key))
               .order_by(ProcessDefinition.version.desc()).first())
        if row is None:
            raise NotFound("process not found", key=str(key)[:64])
        return _view(row)
    return _view(_row(key, version))


def list_versions(actor: Actor, key: str) -> list[DefinitionView]:
    """Every version of a process, newest first (documents included, problems not)."""
    _require_admin(actor)
    rows = list(ProcessDefinition.select().where(ProcessDefinition.key == str(key))
                .order_by(ProcessDefinition.version.desc()))
    if not rows:
        raise NotFound("process not found", key=str(key)[:64])
    return [_view(r, with_problems=False) for r in rows]


def export_definition(actor: Actor, key: str, version) -> dict:
    """The document as stored: what import takes back."""
    _require_admin(actor)
    return dict(_row(key, version).document)


def diff_versions(actor: Actor, key: str, v1, v2) -> list:
    _require_admin(actor)
    return rules.diff(_row(key, v1).document, _row(key, v2).document)


# -- changing ------------------------------------------------------------------------------

def _clean_document(key, document) -> dict:
    if not isinstance(document, dict):
        raise ValidationError({"document": "must be an object"})
    if not isinstance(key, str) or not rules.KEY_PATTERN.match(key):
        raise ValidationError({"key": "2-64 lower-case letters, digits or _"})
    if document.get("key") not in (None, "", key):
        raise ValidationError({"key": "differs from the document's key"})
    document = {**document, "key": key}
    if len(json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")) > MAX_BYTES:
        raise ValidationError({"document": f"at most {MAX_BYTES} bytes"})
    return document


def save_draft(actor: Actor, key: str, document, expected_version=None) -> DefinitionView:
    """Create the next version as a draft, or change the one draft of this key."""
    _require_admin(actor)
    document = _clean_document(key, document)
    now = utcnow()
    try:
        with unit_of_work():
            draft = ProcessDefinition.get_or_none((ProcessDefinition.key == key)
                                                  & (ProcessDefinition.status == "draft"))
            if draft is None:
                row = _new_version(actor, key, document, now)
            else:
                row = _update_draft(draft, document, expected_version, now)
    except peewee.IntegrityError:
        raise Conflict("someone else saved this process at the same time; reload it",
                       key=key) from None
    return _view(row)


def _new_version(actor: Actor, key: str, document: dict, now) -> ProcessDefinition:
    last = (ProcessDefinition.select(peewee.fn.MAX(ProcessDefinition.version))
            .where(ProcessDefinition.key == key).scalar()) or 0
    return ProcessDefinition.create(key=key, version=last + 1, status="draft",
                                    name=display_name(document), document=document,
                                    created_by=actor.user_id or None, created_at=now,
                                    updated_at=now)


def _update_draft(draft: ProcessDefinition, document: dict, expected_version, now):
    if expected_version not in (None, ""):
        try:
            expected = int(expected_version)
        except (TypeError, ValueError):
            raise ValidationError({"expected_version": "must be an integer"}) from None
        if expected != draft.revision:
            raise Conflict("the draft was changed by someone else; reload and try again",
                           expected_version=expected, current_version=draft.revision)
    n = (ProcessDefinition.update(document=document, name=display_name(document), updated_at=now,
                                  revision=ProcessDefinition.revision + 1)
         .where((ProcessDefinition.id == draft.id) & (ProcessDefinition.status == "draft")
                & (ProcessDefinition.revision == draft.revision)).execute())
    if n != 1:
        raise Conflict("the draft was changed by someone else; reload and try again",
                       current_version=draft.revision)
    return ProcessDefinition.get_by_id(draft.id)


def discard_draft(actor: Actor, key: str) -> None:
    """Delete the key's draft (published and retired versions are history: never deleted)."""
    _require_admin(actor)
    with unit_of_work():
        if not ProcessDefinition.delete().where((ProcessDefinition.key == str(key))
                                                & (ProcessDefinition.status == "draft")).execute():
            raise NotFound("process draft not found", key=str(key)[:64])


def publish(actor: Actor, key: str, version) -> DefinitionView:
    """Publish a draft that has no problems; the version published before is retired
    (its running tickets go on with it), new tickets get this one."""
    _require_admin(actor)
    row = _row(key, version)
    if row.status != "draft":
        raise Conflict("only a draft can be published", status=row.status)
    problems = problems_of(row.document)
    if problems:
        raise DefinitionProblems(problems)
    now = utcnow()
    with unit_of_work():
        ProcessDefinition.update(status="retired", retired_at=now, updated_at=now).where(
            (ProcessDefinition.key == row.key) & (ProcessDefinition.status == "published")).execute()
        n = ProcessDefinition.update(status="published", published_at=now, updated_at=now,
                                     published_by=actor.user_id or None).where(
            (ProcessDefinition.id == row.id) & (ProcessDefinition.status == "draft")
            & (ProcessDefinition.revision == row.revision)).execute()
        if n != 1:
            raise Conflict("the draft was changed while it was being published; reload it")
    return _view(ProcessDefinition.get_by_id(row.id))


def retire(actor: Actor, key: str, version) -> DefinitionView:
    """No new tickets enter a retired version; those running on it finish on it."""
    _require_admin(actor)
    row = _row(key, version)
    with unit_of_work():
        n = ProcessDefinition.update(status="retired", retired_at=utcnow(), updated_at=utcnow()
                                     ).where((ProcessDefinition.id == row.id)
                                             & (ProcessDefinition.status == "published")).execute()
        if n != 1:
            raise Conflict("only a published version can be retired", status=row.status)
    return _view(ProcessDefinition.get_by_id(row.id))


def import_definition(actor: Actor, document) -> DefinitionView:
    """A whole document as the key's new draft; refused with every problem's path."""
    _require_admin(actor)
    problems = problems_of(document)
    if problems:
        raise DefinitionProblems(problems, "the file is not a valid process definition")
    key = document["key"]
    if ProcessDefinition.select().where((ProcessDefinition.key == key)
                                        & (ProcessDefinition.status == "draft")).exists():
        raise Conflict("this process has a draft already: publish or change it first", key=key)
    return save_draft(actor, key, document)


def dry_run(actor: Actor, document, fields, outcomes=None):
    """The path a ticket with these field values (and approval outcomes) would take."""
    from appliance.rules.process_simulate import simulate
    _require_admin(actor)
    errors = {name: "must be an object" for name, value in
              (("document", document), ("fields", fields), ("outcomes", outcomes or {}))
              if not isinstance(value, dict)}
    if errors:
        raise ValidationError(errors)
    try:
        return simulate(document, fields, outcomes or {})
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValidationError({"document": "cannot be simulated: fix its problems first"}) from None


def install_examples(actor: Actor) -> list[tuple[str, str]]:
    """Load appliance/processes/*.json as published version 1 of each key that does not
    exist yet (a draft when this organisation lacks what it needs, e.g. a department);
    returns (key, status) of each one installed. `gongdan demo load` calls it."""
    _require_admin(actor)
    installed = []
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        key = document.get("key")
        if ProcessDefinition.select().where(ProcessDefinition.key == key).exists():
            continue
        with unit_of_work():
            row = _new_version(actor, key, _clean_document(key, document), utcnow())
            if not problems_of(document):
                ProcessDefinition.update(status="published", published_at=row.created_at,
                                         published_by=actor.user_id or None).where(
                    ProcessDefinition.id == row.id).execute()
        installed.append((key, ProcessDefinition.get_by_id(row.id).status))
    return installed


# -- what the organisation may not take away -------------------------------------------------

def _in_use() -> list[ProcessDefinition]:
    """Published versions, and any version tickets still run on."""
    live = ProcessInstance.select(ProcessInstance.definition).where(
        ProcessInstance.status.in_(("running", "waiting", "error")))
    return list(ProcessDefinition.select().where((ProcessDefinition.status == "published")
                                                 | ProcessDefinition.id.in_(live))
                .order_by(ProcessDefinition.key, ProcessDefinition.version))


def processes_using_department(code: str) -> list[str]:
    """"name (key vN)" of each process in use that names this department code."""
    return [f"{r.name or r.key} ({r.key} v{r.version})" for r in _in_use()
            if code in rules.used_departments(r.document)]


def processes_using_field(key: str) -> list[str]:
    """"name (key vN)" of each process in use that reads or writes custom.<key>."""
    return [f"{r.name or r.key} ({r.key} v{r.version})" for r in _in_use()
            if f"custom.{key}" in rules.used_fields(r.document)]
