"""Organisation: departments, teams, users (all roles), skills, API tokens, sessions."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .customers import Customer

# The built-in roles; the last two are the separated security and audit administrators.
ROLES = ("customer", "agent", "supervisor", "admin", "security_admin", "audit_admin")
STAFF_ROLES = ("agent", "supervisor", "admin")


class Department(BaseModel):
    code = pw.CharField(max_length=32, unique=True)
    name = pw.CharField(max_length=100)
    name_en = pw.CharField(max_length=100, default="")
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    # Who approves for the department in processes ("department lead"; decision 0018).
    lead = pw.DeferredForeignKey("User", null=True, on_delete="SET NULL", backref="+")


class Team(BaseModel):
    department = pw.ForeignKeyField(Department, backref="teams", on_delete="CASCADE")
    name = pw.CharField(max_length=100)

    class Meta:
        indexes = ((("department", "name"), True),)


class User(BaseModel):
    username = pw.CharField(max_length=64, unique=True)
    display_name = pw.CharField(max_length=100)
    # The e-mail address is personal data: sealed to user|email|id with a blind index (the
    # HMAC an e-mail contact gets), services.user_emails, migration 0035.
    email_enc = pw.TextField(default="")
    email_bidx = pw.CharField(max_length=64, default="", index=True)
    role = pw.CharField(max_length=16, index=True)
    department = pw.ForeignKeyField(Department, null=True, backref="members", on_delete="SET NULL")
    customer = pw.ForeignKeyField(Customer, null=True, backref="users", on_delete="SET NULL")
    password_hash = pw.CharField(max_length=255, default="")
    active = pw.BooleanField(default=True)
    must_change_password = pw.BooleanField(default=False)
    locale = pw.CharField(max_length=8, default="")
    capacity = pw.IntegerField(default=10)
    created_at = pw.DateTimeField(default=utcnow)
    last_login_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)
    # Who approves for this person in processes ("requester's manager"; decision 0018).
    manager = pw.ForeignKeyField("self", null=True, on_delete="SET NULL", backref="reports")
    # A custom role narrowing `role` (models/roles.py; decision 0029); null: the built-in role.
    custom_role = pw.DeferredForeignKey("Role", null=True, on_delete="RESTRICT", backref="+")
    # Authentication (migration 0015, decision 0027): lockout, password age, TOTP.
    failed_logins = pw.IntegerField(default=0)
    locked_until = pw.DateTimeField(null=True)
    password_changed_at = pw.DateTimeField(null=True)
    totp_secret = pw.CharField(max_length=255, default="")   # encrypted; "" = no TOTP
    totp_pending = pw.CharField(max_length=255, default="")  # encrypted, awaiting a first code
    totp_last_step = pw.IntegerField(null=True)  # the last time step used: no replay
    # Where the password is checked (migration 0016, decision 0028): "local" (password_hash)
    # or "ldap" (the directory; no local password is kept). external_dn/external_id name the
    # directory entry; directory_disabled marks an account the directory sync disabled (a
    # later login re-enables it, unlike an account an administrator disabled).
    auth_source = pw.CharField(max_length=8, default="local")
    external_dn = pw.CharField(max_length=512, default="")
    external_id = pw.CharField(max_length=64, default="")
    directory_disabled = pw.BooleanField(default=False)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class TeamMember(BaseModel):
    team = pw.ForeignKeyField(Team, backref="members", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, backref="teams", on_delete="CASCADE")

    class Meta:
        indexes = ((("team", "user"), True),)


SKILL_KINDS = ("general", "category", "product", "language")


class Skill(BaseModel):
    name = pw.CharField(max_length=100, unique=True)
    description = pw.CharField(max_length=255, default="")
    # What the skill is about: a category (models.dispatch.CategorySkill says which
    # categories need it), a product, a language (its code in `language`, matched
    # against the ticket's language by routing) or anything else.
    kind = pw.CharField(max_length=16, default="general")
    language = pw.CharField(max_length=8, default="")


class AgentSkill(BaseModel):
    user = pw.ForeignKeyField(User, backref="skills", on_delete="CASCADE")
    skill = pw.ForeignKeyField(Skill, backref="agents", on_delete="CASCADE")
    level = pw.SmallIntegerField(constraints=[pw.Check("level BETWEEN 1 AND 5")])

    class Meta:
        indexes = ((("user", "skill"), True),)


class ApiToken(BaseModel):
    """Per-user API token; only a SHA-256 of the secret is stored."""
    user = pw.ForeignKeyField(User, backref="api_tokens", on_delete="CASCADE")
    name = pw.CharField(max_length=100)
    prefix = pw.CharField(max_length=16)
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)


class UserSession(BaseModel):
    """Server-side login session; the cookie carries only the random id, stored hashed."""
    id_hash = pw.CharField(max_length=64, primary_key=True)
    user = pw.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)
    last_seen_at = pw.DateTimeField(default=utcnow)
    ip = pw.CharField(max_length=64, default="")
    user_agent = pw.CharField(max_length=255, default="")
    revoked = pw.BooleanField(default=False)
    # Password checked, second factor not yet: the session opens only the second step.
    mfa_pending = pw.BooleanField(default=False)
    reauth_at = pw.DateTimeField(null=True)  # last password entry (sensitive changes)
