"""Users, login, server-side sessions and API tokens."""
from __future__ import annotations

import datetime as dt
import re

from appliance import dto
from appliance.db import database
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (AgentSkill, ApiToken, Customer, Department, Skill, User, UserSession,
                              utcnow)
from appliance.models.org import ROLES, STAFF_ROLES
from appliance.rules.access import Actor, can_manage_org, role_change_problem
from appliance.services import (audit, common, customer_names, dispatch, password_policy,
                                security_policy, user_emails)
from appliance.settings import Settings
from security.passwords import generate_password, hash_password, verify_password
from security.tokens import new_token, token_hash

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


def actor_of(user: User) -> Actor:
    from appliance.services.roles import custom_grant  # a custom role's permissions
    return Actor(user_id=user.id, role=user.role, department_id=user.department_id,
                 customer_id=user.customer_id, display_name=customer_names.login_name(user),
                 **custom_grant(user))


def user_view(u: User) -> dto.UserView:
    return _user_views([u])[0]


def _user_views(rows: list[User]) -> list[dto.UserView]:
    """Views of many users with three queries in all (users, departments, skills)."""
    ids = [u.id for u in rows]
    skills: dict[int, list] = {}
    if ids:
        for s in (AgentSkill.select(AgentSkill, Skill).join(Skill)
                  .where(AgentSkill.user.in_(ids)).order_by(Skill.name)):
            skills.setdefault(s.user_id, []).append((s.skill.name, s.level))
    dept_ids = list({u.department_id for u in rows} - {None})
    depts = {d.id: dto.Ref(d.id, d.name) for d in
             Department.select().where(Department.id.in_(dept_ids))} if dept_ids else {}
    shown = customer_names.login_names(rows)
    return [dto.UserView(u.id, u.username, shown[u.id], user_emails.email_of(u), u.role,
                         depts.get(u.department_id), u.customer_id, u.active, u.locale,
                         u.capacity, skills.get(u.id, []), u.created_at, u.last_login_at)
            for u in rows]


def _require_admin(actor: Actor) -> None:
    if not can_manage_org(actor):
        raise PermissionDenied("administrators only")


def _validate_user(username: str, display_name: str, role: str, email: str) -> dict:
    errors = {}
    if not _USERNAME.match(username or ""):
        errors["username"] = "2-64 letters, digits or . _ @ -"
    if not (display_name or "").strip():
        errors["display_name"] = "required"
    if role not in ROLES:
        errors["role"] = "must be one of " + ", ".join(ROLES)
    if email and ("@" not in email or len(email) > 254 or any(c in email for c in "\r\n <>")):
        errors["email"] = "not a valid email address"
    if errors:
        raise ValidationError(errors)
    return {}


def create_user(actor: Actor, username: str, display_name: str, role: str, *,
                password: str | None = None, email: str = "", department_id=None,
                customer_id=None, must_change_password: bool = False, locale: str = "",
                capacity: int = 10) -> tuple[dto.UserView, str]:
    """Create a user; returns the view and the password (generated if none was given)."""
    _require_admin(actor)
    _validate_user(username, display_name, role, email)
    _may_grant(actor, "", role)
    password = password or generate_password(username=username, email=email)
    password_policy.check(password, username, email)
    dept = common.exists(Department, department_id, "department_id")
    customer = common.exists(Customer, customer_id, "customer_id")
    capacity, locale = _capacity(capacity), _locale(locale)
    with unit_of_work():
        if User.select().where(User.username == username).exists():
            raise ValidationError({"username": "already taken"})
        u = User.create(username=username, display_name=_stored_name(
                            role, customer, display_name), role=role,
                        department=dept, customer=customer,
                        password_hash=hash_password(password), locale=locale,
                        must_change_password=must_change_password, capacity=capacity)
        user_emails.set_email(u.id, email)
        u = User.get_by_id(u.id)
        audit.record("user.created", actor_id=actor.user_id, object_type="user", object_id=u.id, detail={"role": role})
    return user_view(u), password


def _stored_name(role: str, customer_id, display_name: str) -> str:
    """What the display_name column holds: a customer's login shows its customer's name,
    kept encrypted on the customer only (docs/decisions/0052)."""
    if customer_names.is_customer_login(role, customer_id):
        return customer_names.LOGIN_PLACEHOLDER
    return display_name.strip()


def _customer_login_name(u: User, changes: dict) -> None:
    """A customer login's name is its customer's: the form may send it back unchanged;
    another name is an error naming where to change it. A login that stops being a
    customer's needs a name of its own (the column holds only the placeholder); one that
    becomes a customer's drops its own."""
    was = customer_names.is_customer_login(u.role, u.customer_id)
    will = customer_names.is_customer_login(changes.get("role", u.role), u.customer_id)
    if was and not will and not (changes.get("display_name") or "").strip():
        raise ValidationError({"display_name": "required: the login is no longer the "
                                               "customer's, so it needs a name of its own"})
    if not will or (was and "display_name" not in changes):
        return
    if was and (changes["display_name"] or "").strip() != customer_names.login_name(u):
        raise ValidationError({"display_name": "a customer's login shows the customer's "
                                               "name: change it on the customer"})
    changes["display_name"] = customer_names.LOGIN_PLACEHOLDER


def get_user(actor: Actor, user_id: int) -> dto.UserView:
    u = User.get_or_none(User.id == user_id)
    if u is None or (not actor.is_staff and actor.user_id != user_id):
        raise NotFound("user not found", id=user_id)
    return user_view(u)


def list_users(actor: Actor, *, role: str | None = None, department_id: int | None = None
               ) -> list[dto.UserView]:
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    q = User.select().order_by(User.username)
    if role:
        q = q.where(User.role == role)
    elif not actor.is_admin:
        q = q.where(User.role != "customer")
    if department_id:
        q = q.where(User.department == department_id)
    return _user_views(list(q))


def list_active_staff(actor: Actor) -> list[dto.StaffChoice]:
    """Active agents, supervisors and administrators as form options (assignee, approver,
    reviewer, lead), by department name then display name: two queries, no contact
    details decrypted, and an administrator's list never walks the portal customers."""
    if not actor.is_staff:
        raise PermissionDenied("staff only")
    rows = list(User.select(User.id, User.display_name, User.role, User.department)
                .where(User.role.in_(list(STAFF_ROLES)) & (User.active == True))  # noqa: E712
                .order_by(User.username))
    dept_ids = sorted({u.department_id for u in rows} - {None})
    depts = {d.id: dto.Ref(d.id, d.name) for d in Department.select(Department.id, Department.name)
             .where(Department.id.in_(dept_ids))} if dept_ids else {}
    staff = [dto.StaffChoice(u.id, u.display_name, u.role, depts.get(u.department_id))
             for u in rows]
    return sorted(staff, key=lambda u: (u.department.name if u.department else "", u.display_name))


def update_user(actor: Actor, user_id: int, changes: dict) -> dto.UserView:
    _require_admin(actor)
    allowed = {"display_name", "email", "role", "department_id", "locale", "capacity", "active",
               "manager_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({k: "unknown or read-only field" for k in unknown})
    with unit_of_work():
        u = User.get_or_none(User.id == user_id)
        if u is None:
            raise NotFound("user not found", id=user_id)
        _customer_login_name(u, changes)
        _validate_user(u.username, changes.get("display_name", u.display_name),
                       changes.get("role", u.role),
                       changes.get("email", user_emails.email_of(u)))
        if "department_id" in changes:
            changes["department"] = common.exists(Department, changes.pop("department_id"),
                                                  "department_id")
        if "capacity" in changes:
            changes["capacity"] = _capacity(changes["capacity"])
            if changes["capacity"] > u.capacity:  # room for waiting tickets
                dispatch.agent_freed(user_id)
        if "locale" in changes:
            changes["locale"] = _locale(changes["locale"])
        if "manager_id" in changes:
            changes["manager"] = _manager(user_id, changes.pop("manager_id"))
        _keep_own_admin_access(actor, user_id, changes)
        _separation_of_duties(actor, u, changes)
        stored = dict(changes)
        if "email" in stored:
            stored.update(user_emails.columns(user_id, stored.pop("email")))
        User.update(version=User.version + 1, **stored).where(User.id == user_id).execute()
        audit.record_user_change(actor.user_id, user_id, u.role, changes)
        if changes.get("active") is False:
            _end_sessions(user_id)
    return get_user(actor, user_id)


def _may_grant(actor: Actor, old_role: str, new_role: str, custom: bool = False) -> None:
    problem = role_change_problem(actor, old_role, new_role, custom=custom)
    if problem:
        raise ValidationError({"role": problem})


def _separation_of_duties(actor: Actor, u: User, changes: dict) -> None:
    """三权分立 (decision 0029): the other administrators' accounts are not the system
    administrator's to change (a password reset would let it log in as them), roles into
    or out of an administrator role are the security administrator's, and the last
    active holder of each administrator role stays."""
    from appliance.services.roles import ensure_not_last_admin
    if u.role in ("security_admin", "audit_admin") and not actor.can("role.assign"):
        raise PermissionDenied("only the security administrator manages this account")
    role_changes = changes.get("role", u.role) != u.role
    if role_changes:
        _may_grant(actor, u.role, changes["role"], custom=bool(u.custom_role_id))
        changes["custom_role"] = None
    ensure_not_last_admin(u, leaving=role_changes or changes.get("active") is False)


def _manager(user_id: int, manager_id) -> int | None:
    """Who approves as this person's manager in processes: active staff, not themselves."""
    manager = common.existing(User, manager_id, "manager_id", User.role, User.active)
    if manager is None:
        return None
    if manager.id == user_id:
        raise ValidationError({"manager_id": "a person cannot be their own manager"})
    if not manager.is_staff or not manager.active:
        raise ValidationError({"manager_id": "must be an active agent"})
    return manager.id


def manager_of(user_id: int) -> int | None:
    """The manager's user id (for the admin form)."""
    return User.select(User.manager).where(User.id == user_id).scalar()


def _capacity(value) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"capacity": "must be a whole number"}) from None
    if not 0 <= n <= 500:
        raise ValidationError({"capacity": "must be between 0 and 500"})
    return n


def _locale(value) -> str:
    if value not in ("", "zh_CN", "en"):
        raise ValidationError({"locale": "must be zh_CN or en"})
    return value


def _keep_own_admin_access(actor: Actor, user_id: int, changes: dict) -> None:
    """An administrator cannot lock themselves out (disable or demote their own account)."""
    if user_id != actor.user_id:
        return
    if changes.get("active") is False:
        raise ValidationError({"active": "you cannot disable your own account"})
    if changes.get("role", actor.role) != actor.role:
        raise ValidationError({"role": "you cannot change your own role"})


def set_locale(actor: Actor, locale: str) -> None:
    _locale(locale)
    User.update(locale=locale).where(User.id == actor.user_id).execute()


def disable_user(actor: Actor, user_id: int) -> dto.UserView:
    return update_user(actor, user_id, {"active": False})


def _end_sessions(user_id: int) -> None:
    UserSession.update(revoked=True).where(UserSession.user == user_id).execute()
    ApiToken.update(revoked_at=utcnow()).where((ApiToken.user == user_id)
                                              & ApiToken.revoked_at.is_null()).execute()


def set_password(user_id: int, password: str, *, must_change: bool = False,
                 field: str = "password") -> None:
    """Policy-checked (history included), the old hash kept, the lockout cleared, every
    session and API token ended."""
    u = User.get_or_none(User.id == user_id)
    if u is None:
        raise NotFound("user not found", id=user_id)
    if u.auth_source == "ldap":  # no local password for directory users (decision 0028)
        raise ValidationError({field: "the password is managed by the enterprise directory"})
    password_policy.check_new_for(u, password, field=field)
    with unit_of_work():
        password_policy.remember(user_id, u.password_hash)
        User.update(password_hash=hash_password(password), must_change_password=must_change,
                    password_changed_at=utcnow(), failed_logins=0, locked_until=None,
                    version=User.version + 1).where(User.id == user_id).execute()
        _end_sessions(user_id)


def reset_password(actor: Actor, user_id: int) -> str:
    """Admin reset: a generated one-time password the user must change at next login."""
    _require_admin(actor)
    target = User.get_or_none(User.id == user_id)
    if target is not None and target.role in ("security_admin", "audit_admin") \
            and not actor.can("role.assign"):
        raise PermissionDenied("only the security administrator manages this account")
    password = generate_password(username=target.username if target else "",
                                 email=user_emails.email_of(target) if target else "")
    with unit_of_work():  # the reset and its audit record commit together, or neither
        set_password(user_id, password, must_change=True)
        audit.record("auth.password_reset", actor_id=actor.user_id, object_type="user", object_id=user_id)
    return password


def change_own_password(actor: Actor, current: str, new: str, ip: str = "") -> None:
    """The current password is always asked (re-authentication), the new one checked
    against the policy; audited."""
    u = User.get_by_id(actor.user_id)
    if not verify_password(u.password_hash, current):
        raise ValidationError({"current_password": "incorrect"})
    if current == new:
        raise ValidationError({"new_password": "must differ from the current password"})
    set_password(u.id, new, field="new_password")
    audit.record("auth.password_changed", actor_id=u.id, ip=ip, object_type="user",
                 object_id=u.id)


def authenticate(username: str, password: str, settings: Settings | None = None, *,
                 ip: str = "") -> User:
    """The active, unlocked user with these credentials; one message for every failure
    (services.login: lockout, equal cost, audit, the directory seam)."""
    from appliance.services import login
    return login.authenticate(username, password, settings, ip=ip)


def start_session(user: User, ip: str, user_agent: str, *, mfa_pending: bool = False,
                  fresh_login: bool = True) -> str:
    """New random session id at every login (no fixation); only its hash is stored. A
    session with `mfa_pending` opens nothing but the second step (webapp.auth); a
    complete fresh login is audited (auth.login)."""
    token = new_token("s")
    with unit_of_work():
        UserSession.create(id_hash=token_hash(token), user=user.id, ip=ip[:64],
                           user_agent=(user_agent or "")[:255], mfa_pending=mfa_pending,
                           reauth_at=utcnow())
        User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
        if not mfa_pending:  # in the transaction: no session without its audit record
            login_completed(user, ip if fresh_login else None)
    return token


def login_completed(user: User, ip: str | None) -> None:
    """After the last step of a login: audited (unless `ip` is None: a new session after a
    password change is no new login), and agents come online for routing."""
    from appliance.services import presence
    if ip is not None:
        audit.record("auth.login", actor_id=user.id, ip=ip, object_type="user",
                     object_id=user.id)
    presence.on_login(user)


def resume_session(token: str, settings: Settings, touch: bool = True) -> User | None:
    """The session's user if the session is live and past its second step."""
    found = resume_login(token, settings, touch)
    return found[0] if found and not found[1].mfa_pending else None


def resume_login(token: str, settings: Settings, touch: bool = True
                 ) -> tuple[User, UserSession] | None:
    """(user, session) if the session is live, half-authenticated (mfa_pending) ones
    included; touches last_seen (at most once a minute) unless `touch` is False (a page
    that only listens for live updates must not keep its session from idling out)."""
    if not token:
        return None
    s = UserSession.get_or_none(UserSession.id_hash == token_hash(token))
    if s is None or s.revoked:
        return None
    now = utcnow()
    settings = security_policy.effective(settings)
    if (now - s.last_seen_at > dt.timedelta(minutes=settings.session_idle_minutes)
            or now - s.created_at > dt.timedelta(hours=settings.session_absolute_hours)):
        if touch:
            UserSession.update(revoked=True).where(UserSession.id_hash == s.id_hash).execute()
        return None
    user = User.get_or_none(User.id == s.user_id)
    if user is None or not user.active:
        return None
    if touch and now - s.last_seen_at > dt.timedelta(seconds=60):
        UserSession.update(last_seen_at=now).where(UserSession.id_hash == s.id_hash).execute()
    return user, s


def end_session(token: str) -> None:
    """Log out; an agent with no other open session goes offline for routing."""
    if not token:
        return
    s = UserSession.get_or_none(UserSession.id_hash == token_hash(token))
    UserSession.update(revoked=True).where(UserSession.id_hash == token_hash(token)).execute()
    if s is not None and not s.revoked:
        audit.record("auth.logout", actor_id=s.user_id, object_type="user", object_id=s.user_id)
    if s is not None and not s.revoked and not UserSession.select().where(
            (UserSession.user == s.user_id) & ~UserSession.revoked).exists():
        from appliance.services import presence
        presence.on_logout(s.user_id)


def create_api_token(actor: Actor, name: str) -> tuple[int, str]:
    """A new token for the actor; the secret is returned once and stored only hashed."""
    name = common.clean_text(name, "name", required=True, max_len=100, single_line=True)
    token = new_token("gd")
    with unit_of_work():
        row = ApiToken.create(user=actor.user_id, name=name, prefix=token[:10],
                              token_hash=token_hash(token))
        audit.record("token.created", actor_id=actor.user_id, object_type="api_token", object_id=row.id, detail={"name": name})
    return row.id, token


def list_api_tokens(actor: Actor) -> list[dict]:
    q = ApiToken.select().where(ApiToken.user == actor.user_id).order_by(ApiToken.id)
    return [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
             "last_used_at": t.last_used_at, "revoked": t.revoked_at is not None} for t in q]


def revoke_api_token(actor: Actor, token_id: int) -> None:
    row = ApiToken.get_or_none(ApiToken.id == token_id)
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("token not found", id=token_id)
    with unit_of_work():
        ApiToken.update(revoked_at=utcnow()).where(ApiToken.id == token_id).execute()
        audit.record("token.revoked", actor_id=actor.user_id, object_type="api_token", object_id=token_id)


# The token lookup runs on every API request. Its SQL text is fixed rather than composed by
# peewee per call: composing a query costs peewee ~15 times what SQLite needs to run it
# (docs/benchmarks.md (a)). Quoted names: "user" is reserved in PostgreSQL.
_TOKEN_SQL = ('SELECT "u".*, "t"."id" AS "token_id", "t"."last_used_at" AS "token_used_at" '
              'FROM "api_token" AS "t" JOIN "user" AS "u" ON "u"."id" = "t"."user_id" '
              'WHERE "t"."token_hash" = {p} AND "t"."revoked_at" IS NULL '
              'AND "u"."active" = {p} LIMIT 1')


def user_for_api_token(token: str) -> User | None:
    """The active user of a live token, read in one query on every request (no cache): a
    revoked token or a disabled user is refused at once, on every node."""
    sql = _TOKEN_SQL.format(p=database.param)
    rows = list(User.raw(sql, token_hash(token or ""), True))  # read to the end: no open cursor
    if not rows:
        return None
    user = rows[0]
    last_used = ApiToken.last_used_at.python_value(user.token_used_at)
    now = utcnow()
    if last_used is None or now - last_used > dt.timedelta(minutes=1):
        ApiToken.update(last_used_at=now).where(ApiToken.id == user.token_id).execute()
    return user
