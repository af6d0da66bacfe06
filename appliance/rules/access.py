"""Who may see and change what. Pure functions over `Actor` and ticket facts.

Scoping for now: admins see everything; agents and supervisors see tickets of
their own department, tickets with no department yet (the triage pool) and
tickets assigned to them; customers see only their own tickets and never
anything internal. The compliance issue refines roles; these functions are
the single place to do it.
"""
from __future__ import annotations

from dataclasses import dataclass

STAFF = frozenset({"agent", "supervisor", "admin"})


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str
    department_id: int | None = None
    customer_id: int | None = None
    display_name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"


SYSTEM = Actor(user_id=0, role="admin", display_name="system")


@dataclass(frozen=True)
class TicketFacts:
    department_id: int | None
    assignee_id: int | None
    customer_id: int | None
    requester_id: int | None
    # The ticket's parents (one level): staff who may work a parent may open its sub-tickets.
    parents: tuple["TicketFacts", ...] = ()


def can_view_ticket(actor: Actor, t: TicketFacts) -> bool:
    if actor.is_admin:
        return True
    if actor.is_customer:
        return (t.requester_id == actor.user_id
                or (actor.customer_id is not None and t.customer_id == actor.customer_id))
    if actor.is_staff:
        return _staff_direct(actor, t) or any(_works_on(actor, p) for p in t.parents)
    return False


def _works_on(actor: Actor, t: TicketFacts) -> bool:
    """Assigned to the ticket or in its department (not merely able to see the triage pool)."""
    return t.assignee_id == actor.user_id or (
        t.department_id is not None and t.department_id == actor.department_id)


def _staff_direct(actor: Actor, t: TicketFacts) -> bool:
    return _works_on(actor, t) or t.department_id is None


def can_edit_ticket(actor: Actor, t: TicketFacts) -> bool:
    """Staff who can see a ticket can work it; customers only comment/close via their own paths."""
    return actor.is_staff and can_view_ticket(actor, t)


def can_see_internal(actor: Actor) -> bool:
    return actor.is_staff


def can_manage_org(actor: Actor) -> bool:
    """Departments, users, skills, categories and custom fields."""
    return actor.is_admin


def can_view_customers(actor: Actor) -> bool:
    return actor.is_staff


def can_assign_to(actor: Actor, assignee_department_id: int | None, ticket_department_id: int | None
                  ) -> bool:
    """Agents assign within the ticket's department; supervisors and admins anywhere."""
    if actor.role in ("supervisor", "admin"):
        return True
    return actor.is_staff and (ticket_department_id is None
                               or assignee_department_id == ticket_department_id)


def can_merge_customers(actor: Actor) -> bool:
    """Merging moves one customer's whole history onto another and is hard to undo by
    hand: supervisors and administrators (docs/decisions/0016-customer-identity.md)."""
    return actor.role in ("supervisor", "admin")
