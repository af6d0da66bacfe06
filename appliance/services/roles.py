"""Roles: the built-in roles and the custom roles the security administrator builds from
the permission catalogue, and who holds which (docs/decisions/0029-roles-and-permissions.md).

Separation of duties (三权分立) is decided by rules.access (role_change_problem,
custom_role_problem); this module loads the facts, enforces "the last active holder of
each administrator role stays" and records every change in the audit log.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Role, User, utcnow
from appliance.rules.access import (ADMIN_ROLES, BUILTIN_ROLES, PERMISSIONS, ROLE_PERMISSIONS,
                                    Actor, custom_role_problem, role_change_problem)
from appliance.services import audit, common

CUSTOM_PREFIX = "custom:"


@dataclass(frozen=True)
class RoleView:
    key: str            # "agent", "security_admin", … or "custom:<id>"
    name: str
    description: str
    base_role: str
    permissions: tuple[str, ...]
    builtin: bool
    holders: int
    id: int | None = None
    version: int = 1
    updated_at: dt.datetime | None = None


def custom_grant(user: User) -> dict:
    """Actor arguments for a user holding a custom role: its permissions, never more than
    the base role's (a role edited after assignment cannot widen an old base)."""
    role_id = getattr(user, "custom_role_id", None)
    if not role_id:
        return {}
    role = Role.get_or_none(Role.id == role_id)
    if role is None:
        return {}
    return {"permissions": role.permission_set & ROLE_PERMISSIONS.get(user.role, frozenset()),
            "role_name": role.name}


def _require(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied("you may not manage roles")


def _holders() -> tuple[dict[str, int], dict[int, int]]:
    builtin: dict[str, int] = {}
    custom: dict[int, int] = {}
    for role, custom_id in User.select(User.role, User.custom_role).where(User.active).tuples():
        if custom_id:
            custom[custom_id] = custom.get(custom_id, 0) + 1
        else:
            builtin[role] = builtin.get(role, 0) + 1
    return builtin, custom


def _view(r: Role, holders: int) -> RoleView:
    return RoleView(f"{CUSTOM_PREFIX}{r.id}", r.name, r.description, r.base_role,
                    tuple(sorted(r.permission_set)), False, holders, r.id, r.version, r.updated_at)


def list_roles(actor: Actor) -> list[RoleView]:
    """Built-in roles first (in catalogue order), then custom roles by name."""
    if not (actor.can("role.manage") or actor.can("role.assign")):
        raise PermissionDenied("you may not manage roles")
    builtin, custom = _holders()
    out = [RoleView(name, name, "", name, tuple(sorted(ROLE_PERMISSIONS[name])), True,
                    builtin.get(name, 0)) for name in BUILTIN_ROLES]
    return out + [_view(r, custom.get(r.id, 0)) for r in Role.select().order_by(Role.name)]


def get_role(actor: Actor, role_id: int) -> RoleView:
    _require(actor, "role.manage")
    r = Role.get_or_none(Role.id == role_id)
    if r is None:
        raise NotFound("role not found", id=role_id)
    return _view(r, User.select().where(User.custom_role == r.id).count())


def _clean(name, description, base_role, permissions) -> dict:
    name = common.clean_text(name, "name", required=True, max_len=64, single_line=True)
    description = common.clean_text(description, "description", max_len=255, single_line=True)
    perms = sorted(set(permissions or ()))
    errors = {}
    unknown = [p for p in perms if p not in PERMISSIONS]
    if unknown:
        errors["permissions"] = "unknown permission: " + ", ".join(unknown)
    elif name in BUILTIN_ROLES or name.startswith(CUSTOM_PREFIX):
        errors["name"] = "is the name of a built-in role"
    else:
        errors = custom_role_problem(base_role, perms)
    if errors:
        raise ValidationError(errors)
    return {"name": name, "description": description, "base_role": base_role,
            "permissions": " ".join(perms)}


def _name_free(name: str, role_id: int | None = None) -> None:
    q = Role.select().where(Role.name == name)
    if role_id is not None:
        q = q.where(Role.id != role_id)
    if q.exists():
        raise ValidationError({"name": "already taken"})


def create_role(actor: Actor, name: str, description: str, base_role: str, permissions,
                ip: str = "") -> RoleView:
    _require(actor, "role.manage")
    row = _clean(name, description, base_role, permissions)
    with unit_of_work():
        _name_free(row["name"])
        r = Role.create(**row)
        audit.record("role.created", actor_id=actor.user_id or None, ip=ip, object_type="role",
                     object_id=r.id, detail=_detail(row))
    return _view(r, 0)


def _detail(row: dict) -> dict:
    return {"name": row["name"], "base_role": row["base_role"],
            "permissions": row["permissions"].split()}


def update_role(actor: Actor, role_id: int, name: str, description: str, base_role: str,
                permissions, *, expected_version: int | None = None, ip: str = "") -> RoleView:
    """Holders keep the role; its base cannot change while anyone holds it (their
    department scope and routing would change behind the assigner's back)."""
    _require(actor, "role.manage")
    row = _clean(name, description, base_role, permissions)
    with unit_of_work():
        r = Role.get_or_none(Role.id == role_id)
        if r is None:
            raise NotFound("role not found", id=role_id)
        if expected_version not in (None, "") and str(expected_version) != str(r.version):
            raise Conflict("the role was changed by someone else", version=r.version)
        _name_free(row["name"], role_id)
        if row["base_role"] != r.base_role and User.select().where(
                User.custom_role == role_id).exists():
            raise ValidationError({"base_role": "cannot change while users hold the role"})
        Role.update(version=Role.version + 1, updated_at=utcnow(), **row).where(
            Role.id == role_id).execute()
        audit.record("role.updated", actor_id=actor.user_id or None, ip=ip, object_type="role",
                     object_id=role_id, detail={**_detail(row), "before": sorted(r.permission_set)})
    return get_role(actor, role_id)


def delete_role(actor: Actor, role_id: int, ip: str = "") -> None:
    _require(actor, "role.manage")
    with unit_of_work():
        r = Role.get_or_none(Role.id == role_id)
        if r is None:
            raise NotFound("role not found", id=role_id)
        if User.select().where(User.custom_role == role_id).exists():
            raise ValidationError({"role": "users hold this role; assign them another first"})
        Role.delete().where(Role.id == role_id).execute()
        audit.record("role.deleted", actor_id=actor.user_id or None, ip=ip, object_type="role",
                     object_id=role_id, detail={"name": r.name})


def role_key(user) -> str:
    """The key of the role a user holds, as list_roles names it."""
    custom = getattr(user, "custom_role_id", None)
    return f"{CUSTOM_PREFIX}{custom}" if custom else user.role


def _target_role(key: str) -> tuple[str, Role | None]:
    if key in BUILTIN_ROLES:
        return key, None
    if key.startswith(CUSTOM_PREFIX) and key[len(CUSTOM_PREFIX):].isdigit():
        r = Role.get_or_none(Role.id == int(key[len(CUSTOM_PREFIX):]))
        if r is not None:
            return r.base_role, r
    raise ValidationError({"role": "no such role"})


def ensure_not_last_admin(u: User, *, leaving: bool) -> None:
    """The last active holder of each administrator role cannot leave it (be disabled,
    demoted or given a custom role): nobody could then do that job or hand it on."""
    if not leaving or not u.active or u.role not in ADMIN_ROLES or u.custom_role_id:
        return
    others = User.select().where((User.role == u.role) & User.active & (User.id != u.id)
                                 & User.custom_role.is_null())
    if not others.exists():
        raise ValidationError({"role": f"the last active {u.role} cannot be removed"})


def assign_role(actor: Actor, user_id: int, key: str, ip: str = "") -> None:
    """Give a user a built-in or custom role (the security administrator's job for the
    administrator roles and custom roles; rules.access.role_change_problem)."""
    if not (actor.can("role.assign") or actor.can("user.manage")):
        raise PermissionDenied("you may not assign roles")
    with unit_of_work():
        u = User.get_or_none(User.id == user_id)
        if u is None:
            raise NotFound("user not found", id=user_id)
        new_role, custom = _target_role(key)
        old_key = role_key(u)
        if old_key == key:
            return
        if (u.role == "customer") != (new_role == "customer"):
            raise ValidationError({"role": "customers and staff accounts are not interchangeable"})
        problem = role_change_problem(actor, u.role, new_role,
                                      custom=custom is not None or bool(u.custom_role_id))
        if problem:
            raise ValidationError({"role": problem})
        if user_id == actor.user_id:
            raise ValidationError({"role": "you cannot change your own role"})
        ensure_not_last_admin(u, leaving=True)
        User.update(role=new_role, custom_role=custom.id if custom else None,
                    version=User.version + 1).where(User.id == user_id).execute()
        audit.record("user.role_changed", actor_id=actor.user_id or None, ip=ip,
                     object_type="user", object_id=user_id,
                     detail={"from": old_key, "to": key})


def list_people(actor: Actor) -> list[dict]:
    """Staff and administrator accounts with the key of the role each holds (customers
    keep the customer role; they are not listed)."""
    if not actor.can("role.assign"):
        raise PermissionDenied("you may not assign roles")
    names = {r.id: r.name for r in Role.select(Role.id, Role.name)}
    return [{"id": u.id, "username": u.username, "display_name": u.display_name,
             "role": u.role, "key": role_key(u), "custom_name": names.get(u.custom_role_id, ""),
             "active": u.active}
            for u in User.select().where(User.role != "customer").order_by(User.username)]
