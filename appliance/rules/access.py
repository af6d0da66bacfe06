"""Who may see and change what. Pure functions over `Actor` and ticket facts.

Scoping: holders of ticket.view_all (the system administrator) see everything;
agents and supervisors see tickets of their own department, tickets with no
department yet (the triage pool) and tickets assigned to them; customers see
only their own tickets and never anything internal. What a role may do is a set
of permissions (PERMISSIONS, ROLE_PERMISSIONS; custom roles narrow a staff role,
docs/decisions/0029-roles-and-permissions.md); `Actor.can` asks.

One narrow grant besides: the people an open process task step is given to
(`StepHolder`, docs/decisions/0018) may read its ticket and complete that step
while it is open, nothing more (parallel branches work in several departments
while the ticket itself stays in one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

STAFF = frozenset({"agent", "supervisor", "admin"})

# --- permissions (docs/decisions/0029-roles-and-permissions.md) --------------------------
# The catalogue: every fine-grained permission a role can hold. The texts are shown to the
# security administrator when building a custom role (webapp translates them).
PERMISSIONS: dict[str, str] = {
    "portal.use": "use the customer portal (own tickets only)",
    "ticket.view": "view tickets in one's department scope",
    "ticket.view_all": "view and work tickets of every department",
    "ticket.edit": "work tickets: reply, change fields, status, attachments",
    "ticket.assign": "assign tickets within the ticket's department",
    "ticket.assign_any": "assign tickets to anyone, any department",
    "ticket.view_internal": "see internal notes and internal fields",
    "customer.view": "view customer profiles",
    "customer.edit": "create and edit customer profiles",
    "customer.view_pii_worked": "see contacts in full for customers one works on",
    "customer.view_pii": "see every customer's contacts in full (unmasked)",
    "customer.merge": "merge duplicate customers",
    "customer.export": "export customer data",
    "customer.erase": "erase a customer's personal data on request (PIPL)",
    "kb.view": "read internal knowledge articles",
    "kb.edit": "write knowledge drafts",
    "kb.review": "review knowledge drafts: approve (publish), reject, archive",
    "kb.admin": "knowledge settings: synonyms, category reviewers",
    "report.view": "supervisor board, statistics and knowledge metrics",
    "org.manage": "departments, skills, categories and custom fields",
    "user.manage": "create, edit, disable users; non-administrator roles",
    "config.manage": "mailboxes, integrations, web forms, dispatch settings",
    "ai.admin": "AI triage rules, profiles and classifiers",
    "process.admin": "process definitions and the process monitor",
    "backup.run": "backups and restores",
    "role.manage": "create, edit and delete custom roles and their permissions",
    "role.assign": "assign any role, administrator roles included",
    "security.policy": "password, lockout and session policies",
    "session.manage": "unlock accounts and end other users' sessions",
    "audit.read": "read and export the audit log",
}
ALL_PERMISSIONS = frozenset(PERMISSIONS)

_AGENT = frozenset({"ticket.view", "ticket.edit", "ticket.assign", "ticket.view_internal",
                    "customer.view", "customer.edit", "customer.view_pii_worked", "kb.view",
                    "kb.edit"})
_SUPERVISOR = _AGENT | {"ticket.assign_any", "customer.view_pii", "customer.merge",
                        "customer.export", "kb.review", "report.view"}
# The system administrator keeps what "admin" did before the separation, less what is
# now the security administrator's (roles, permissions, policies) or the auditor's.
_SYSTEM_ADMIN = _SUPERVISOR | {"ticket.view_all", "kb.admin", "org.manage", "user.manage",
                               "config.manage", "ai.admin", "process.admin", "backup.run",
                               "customer.erase"}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "customer": frozenset({"portal.use"}),
    "agent": _AGENT,
    "supervisor": frozenset(_SUPERVISOR),
    "admin": frozenset(_SYSTEM_ADMIN),
    "security_admin": frozenset({"role.manage", "role.assign", "security.policy",
                                 "session.manage"}),
    "audit_admin": frozenset({"audit.read"}),
}
BUILTIN_ROLES = tuple(ROLE_PERMISSIONS)
# The three separated administrators (三权分立): only "role.assign" moves a user into or
# out of one of them, and the last active holder of each cannot be removed.
ADMIN_ROLES = frozenset({"admin", "security_admin", "audit_admin"})
# What a custom role may be based on: its department scope and routing follow the base.
CUSTOM_BASES = ("agent", "supervisor")


def custom_role_problem(base_role: str, permissions) -> dict:
    """Field errors for a custom role: a staff base, and permissions within that base's
    own (a custom role narrows a built-in one; it never mints a new administrator)."""
    errors = {}
    if base_role not in CUSTOM_BASES:
        errors["base_role"] = "must be one of " + ", ".join(CUSTOM_BASES)
        return errors
    extra = set(permissions) - ROLE_PERMISSIONS[base_role]
    if extra:
        errors["permissions"] = "not available to this base role: " + ", ".join(sorted(extra))
    elif "ticket.view" not in set(permissions):
        errors["permissions"] = "a staff role needs ticket.view"
    return errors


def role_change_problem(actor: "Actor", old_role: str, new_role: str, *,
                        custom: bool = False) -> str:
    """Why `actor` may not move a user from `old_role` to `new_role` ("" if it may).
    Administrator roles and custom roles are the security administrator's; the system
    administrator moves people between customer, agent and supervisor only."""
    if old_role == new_role and not custom:
        return ""
    if custom or old_role in ADMIN_ROLES or new_role in ADMIN_ROLES:
        return "" if actor.can("role.assign") else "only the security administrator assigns this role"
    if actor.can("user.manage") or actor.can("role.assign"):
        return ""
    return "you may not change roles"


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    department_id: int | None = None
    customer_id: int | None = None
    display_name: str = ""
    # None: the built-in role's permissions; a custom role passes its own set.
    permissions: frozenset[str] | None = field(default=None, compare=False)
    role_name: str = ""  # the custom role's name, for display; "" for a built-in role

    def __post_init__(self):
        if self.permissions is None:
            object.__setattr__(self, "permissions", ROLE_PERMISSIONS.get(self.role, frozenset()))

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"


# The command line and the domain's own jobs: every permission (it creates the first
# security and audit administrators).
SYSTEM = Actor(user_id=0, role="admin", display_name="system", permissions=ALL_PERMISSIONS)


@dataclass(frozen=True)
class StepHolder:
    """Who one open process task step is given to: the members of a department and/or
    named people (services/process_tasks.py records it when the step opens)."""
    step_id: int
    department_id: int | None = None
    user_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class TicketFacts:
    department_id: int | None
    assignee_id: int | None
    customer_id: int | None
    requester_id: int | None
    # The ticket's parents (one level): staff who may work a parent may open its sub-tickets.
    parents: tuple["TicketFacts", ...] = ()
    # The open task steps of the ticket's live processes and who holds each.
    step_holders: tuple[StepHolder, ...] = ()


def can_view_ticket(actor: Actor, t: TicketFacts) -> bool:
    if actor.is_staff and actor.can("ticket.view_all"):
        return True
    if actor.is_customer:
        return (t.requester_id == actor.user_id
                or (actor.customer_id is not None and t.customer_id == actor.customer_id))
    if actor.is_staff and actor.can("ticket.view"):
        return _may_work(actor, t) or any(holds_step(actor, h) for h in t.step_holders)
    return False


def _may_work(actor: Actor, t: TicketFacts) -> bool:
    return _staff_direct(actor, t) or any(_works_on(actor, p) for p in t.parents)


def holds_step(actor: Actor, h: StepHolder) -> bool:
    return actor.is_staff and (actor.user_id in h.user_ids or (
        h.department_id is not None and h.department_id == actor.department_id))


def _works_on(actor: Actor, t: TicketFacts) -> bool:
    """Assigned to the ticket or in its department (not merely able to see the triage pool)."""
    return t.assignee_id == actor.user_id or (
        t.department_id is not None and t.department_id == actor.department_id)


def _staff_direct(actor: Actor, t: TicketFacts) -> bool:
    return _works_on(actor, t) or t.department_id is None


def can_edit_ticket(actor: Actor, t: TicketFacts) -> bool:
    """Staff who can see a ticket can work it, except through a step's grant alone;
    customers only comment/close via their own paths."""
    return actor.is_staff and actor.can("ticket.edit") and (
        actor.can("ticket.view_all") or _may_work(actor, t))


def can_complete_step(actor: Actor, t: TicketFacts, step_id: int) -> bool:
    """Staff who work the ticket complete any of its open task steps; a step's holders
    complete that step (with its form), and nothing else through it."""
    return can_edit_ticket(actor, t) or any(
        h.step_id == step_id and holds_step(actor, h) for h in t.step_holders)


def can_see_internal(actor: Actor) -> bool:
    return actor.is_staff and actor.can("ticket.view_internal")


def can_manage_org(actor: Actor) -> bool:
    """Departments, users, skills, categories and custom fields."""
    return actor.can("org.manage")


def can_view_customers(actor: Actor) -> bool:
    return actor.is_staff and actor.can("customer.view")


def can_view_reports(actor: Actor) -> bool:
    """The supervisor board, statistics and knowledge metrics."""
    return actor.is_staff and actor.can("report.view")


def sees_pii(actor: Actor, works_on_customer: bool) -> bool:
    """Whether `actor` sees a customer's contacts unmasked (else rules.pii.mask_contact)."""
    return actor.can("customer.view_pii") or (
        works_on_customer and actor.can("customer.view_pii_worked"))


def can_assign_to(actor: Actor, assignee_department_id: int | None, ticket_department_id: int | None
                  ) -> bool:
    """Agents assign within the ticket's department; supervisors and admins anywhere."""
    if actor.is_staff and actor.can("ticket.assign_any"):
        return True
    return actor.is_staff and actor.can("ticket.assign") and (
        ticket_department_id is None or assignee_department_id == ticket_department_id)


def can_export_customers(actor: Actor) -> bool:
    """A full copy of a customer's personal data (PIPL access request): supervisors and
    the system administrator, each for the tickets in their scope."""
    return actor.is_staff and actor.can("customer.export")


def can_erase_customers(actor: Actor) -> bool:
    """Erasure under PIPL cannot be undone: the system administrator (docs/decisions/0030)."""
    return actor.is_staff and actor.can("customer.erase")


def can_merge_customers(actor: Actor) -> bool:
    """Merging moves one customer's whole history onto another and is hard to undo by
    hand: supervisors and administrators (docs/decisions/0016-customer-identity.md)."""
    return actor.is_staff and actor.can("customer.merge")
