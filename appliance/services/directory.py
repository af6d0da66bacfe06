"""Enterprise directory login and sync (LDAP / Active Directory; decision 0028).

`authenticate` is what users.authenticate delegates to for names it does not know and for
accounts whose auth_source is "ldap": find the person with the service account, bind as
them to check the password, map their groups to a role and a department, and create or
update the local account (which never holds a password). `sync` brings every directory
account up to date and disables those who left the directory or its mapped groups.
A local account is never taken over by a directory entry of the same name.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import peewee

from appliance.jobs import unit_of_work
from appliance.models import AuditRecord, Department, User, utcnow
from appliance.rules import directory as rules
from appliance.services import audit, user_emails
from appliance.services.directory_ldap import DirectoryUnavailable, Entry
from appliance.services import directory_ldap as ldap
from appliance.settings import Settings

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")  # as services.users
_BAD_EMAIL = re.compile(r"[\s<>]")


@dataclass(frozen=True)
class Change:
    username: str
    what: str  # e.g. "role agent -> supervisor", "disable: in no mapped group"


def configured(settings: Settings) -> bool:
    return bool(settings.ldap_url)


def authenticate(username: str, password: str, settings: Settings) -> User | None:
    """The local account of the directory user with these credentials, created or updated
    from the directory; None for every refusal (the caller shows one message)."""
    username = (username or "").strip()
    if not configured(settings) or not username or not password:
        return None  # an empty password would be an unauthenticated bind (RFC 4513 5.1.2)
    try:
        with ldap.service_connection(settings) as conn:
            entry = ldap.find_user(conn, settings, username)
        if entry is None:
            # The same round trips as a wrong password, so timing does not tell them apart.
            ldap.check_password(settings, f"cn=gongdan-no-such-user,{settings.ldap_user_base}",
                                password)
            return None
        if not ldap.check_password(settings, entry.dn, password):
            return None
    except DirectoryUnavailable as exc:
        # No user name, no password: the cause is the server's state.
        log.error("directory login not possible: %s", exc)
        return None
    return _login(entry, settings)


def _login(entry: Entry, settings: Settings) -> User | None:
    role = _role(entry, settings)
    problem = _refusal(entry, role)
    if problem:
        log.warning("directory login refused: %s", problem)
        _record("directory.login", None, result="failure", detail={"reason": problem})
        return None
    try:
        with unit_of_work():
            u = User.get_or_none(User.username == entry.username)
            if u is None:
                u = _create(entry, role, settings)
            else:
                _apply(u, _plan(u, entry, settings))
            _record("directory.login", u.id)
    except peewee.IntegrityError:  # the same first login twice at once: one of them wins
        return None
    return User.get_by_id(u.id)


def _role(entry: Entry, settings: Settings) -> str | None:
    return rules.role_for_groups(list(entry.groups), settings.ldap_group_roles,
                                 settings.ldap_allow_admin_roles)


def _refusal(entry: Entry, role: str | None) -> str:
    """Why this entry may not log in ("" if it may)."""
    if role is None:
        return "in no mapped group"
    if not _USERNAME.match(entry.username):
        return "directory user name is not usable as a Gongdan user name"
    u = User.get_or_none(User.username == entry.username)
    if u is not None and u.auth_source != "ldap":
        return "a local account has this user name"
    if u is not None and _other_person(u, entry):
        return "the directory entry is not the one this account was created for"
    return ""


def _other_person(u: User, entry: Entry | None) -> bool:
    """A name reused in the directory by someone else (the stable id differs)."""
    return bool(entry and u.external_id and entry.external_id
                and u.external_id != entry.external_id)


def _create(entry: Entry, role: str, settings: Settings) -> User:
    profile = _profile(entry, settings)
    email = profile.pop("email")
    u = User.create(username=entry.username, role=role, auth_source="ldap",
                    password_hash="",  # nosec B106  # no local password: the directory checks it
                    **profile)
    user_emails.set_email(u.id, email)
    _record("directory.user_created", u.id, detail={"role": role})
    return User.get_by_id(u.id)


def _profile(entry: Entry, settings: Settings) -> dict:
    email = entry.email if ("@" in entry.email and len(entry.email) <= 254
                            and not _BAD_EMAIL.search(entry.email)) else ""
    return {"display_name": (entry.display_name or entry.username)[:100], "email": email,
            "department": _department(entry, settings), "external_dn": entry.dn[:512],
            "external_id": entry.external_id[:64]}


def _department(entry: Entry, settings: Settings) -> int | None:
    code = rules.department_for_groups(list(entry.groups), settings.ldap_group_departments)
    code = code or entry.department
    if not code:
        return None
    dept_id = Department.select(Department.id).where(Department.code == code).scalar()
    if dept_id is None:
        log.warning("directory department code %r names no department", code[:32])
    return dept_id


def _current(u: User, field: str):
    if field == "department":
        return u.department_id
    return user_emails.email_of(u) if field == "email" else getattr(u, field)


def _plan(u: User, entry: Entry | None, settings: Settings) -> dict:
    """The field changes that bring this account in line with its directory entry."""
    role = _role(entry, settings) if entry is not None else None
    if entry is None or role is None or _other_person(u, entry):
        return {"active": False, "directory_disabled": True} if u.active else {}
    wanted = dict(_profile(entry, settings), role=role)
    changes = {k: v for k, v in wanted.items() if _current(u, k) != v}
    if not u.active and u.directory_disabled:  # back in a mapped group: the sync's own undo
        changes.update(active=True, directory_disabled=False)
    return changes


def _describe(u: User, changes: dict, entry: Entry | None) -> list[str]:
    if changes.get("active") is False:
        return ["disable: " + ("not in the directory" if entry is None else
                               "in no mapped group or not the same person")]
    out = [f"role {u.role} -> {changes['role']}"] if "role" in changes else []
    out += ["enable"] if changes.get("active") else []
    out += [f"{k} updated" for k in ("display_name", "email", "department") if k in changes]
    return out


def _apply(u: User, changes: dict) -> None:
    if not changes:
        return
    from appliance.services import users
    with unit_of_work():
        if "role" in changes:
            changes["custom_role"] = None  # a custom role narrowed the old role only
            _record("directory.role_changed", u.id, detail={"from": u.role, "to": changes["role"]})
        stored = dict(changes)
        if "email" in stored:
            stored.update(user_emails.columns(u.id, stored.pop("email")))
        User.update(version=User.version + 1, **stored).where(User.id == u.id).execute()
        if changes.get("active") is False:
            users._end_sessions(u.id)  # disabled means logged out everywhere, at once
            _record("directory.user_disabled", u.id)


def sync(settings: Settings, *, dry_run: bool = False) -> list[Change]:
    """Update every directory account from the directory; disable those not found or in
    no mapped group. Raises DirectoryUnavailable (nothing changes) if it cannot ask."""
    with ldap.service_connection(settings) as conn:
        entries = {e.username.lower(): e for e in ldap.all_users(conn, settings)}
    out = []
    for u in User.select().where(User.auth_source == "ldap").order_by(User.username):
        entry = entries.get(u.username.lower())
        changes = _plan(u, entry, settings)
        out += [Change(u.username, what) for what in _describe(u, changes, entry)]
        if changes and not dry_run:
            _apply(u, changes)
    if not dry_run:
        _record("directory.sync", None, detail={"changes": len(out)})
    return out


def sync_if_due(settings: Settings, now: dt.datetime | None = None) -> list[Change] | None:
    """The periodic sync (checked every minute by the worker): runs when ldap_sync_minutes
    have passed since the last attempt. Attempts are the audit log's directory.sync
    records, failed ones included, so a directory that is down is retried at the same
    pace rather than every minute."""
    if not configured(settings) or settings.ldap_sync_minutes <= 0:
        return None
    last = (AuditRecord.select(peewee.fn.MAX(AuditRecord.at))
            .where(AuditRecord.action == "directory.sync").scalar())
    if last is not None and (now or utcnow()) - _as_datetime(last) < dt.timedelta(
            minutes=settings.ldap_sync_minutes):
        return None
    try:
        return sync(settings)
    except DirectoryUnavailable as exc:
        log.error("directory sync not possible: %s", exc)
        _record("directory.sync", None, result="failure", detail={"error": "unavailable"})
        return None


def _as_datetime(value) -> dt.datetime:
    """SQLite hands back the stored text."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def check_connection(settings: Settings) -> int:
    """Connect, bind as the service account and count the users the filter finds."""
    with ldap.service_connection(settings) as conn:
        return len(ldap.all_users(conn, settings))


def look_up(settings: Settings, username: str) -> tuple[Entry, str | None, str | None] | None:
    """(entry, role, department code) the directory gives this name, for `ldap test`."""
    with ldap.service_connection(settings) as conn:
        entry = ldap.find_user(conn, settings, username)
    if entry is None:
        return None
    department = (rules.department_for_groups(list(entry.groups), settings.ldap_group_departments)
                  or entry.department or None)
    return entry, _role(entry, settings), department


def _record(action: str, user_id: int | None, *, result: str = "success",
            detail: dict | None = None) -> None:
    audit.record(action, actor_id=user_id if action == "directory.login" else 0,
                 object_type="user" if user_id else "", object_id=user_id or "",
                 result=result, detail=detail)
