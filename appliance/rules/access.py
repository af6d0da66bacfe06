"""Who may see and change what. Pure functions over `Actor` and ticket facts.

Scoping for now: admins see everything; agents and supervisors see tickets of
their own department, tickets with no department yet (the triage pool) and
tickets assigned to them; customers see only their own tickets and never
anything internal. The compliance issue refines roles; these functions are
the single place to do it.

One narrow grant besides: the people an open process task step is given to
(`StepHolder`, docs/decisions/0018) may read its ticket and complete that step
while it is open, nothing more (parallel branches work in several departments
while the ticket itself stays in one).
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
    if actor.is_admin:
        return True
    if actor.is_customer:
        return (t.requester_id == actor.user_id
                or (actor.customer_id is not None and t.customer_id == actor.customer_id))
    if actor.is_staff:
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
    return actor.is_staff and (actor.is_admin or _may_work(actor, t))


def can_complete_step(actor: Actor, t: TicketFacts, step_id: int) -> bool:
    """Staff who work the ticket complete any of its open task steps; a step's holders
    complete that step (with its form), and nothing else through it."""
    return can_edit_ticket(actor, t) or any(
        h.step_id == step_id and holds_step(actor, h) for h in t.step_holders)


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
