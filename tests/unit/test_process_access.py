"""The narrow grant of an open process task step (rules/access.py, StepHolder): its holders
may read the ticket and complete that step, nothing more."""
from appliance.rules.access import (Actor, StepHolder, TicketFacts, can_complete_step,
                                    can_edit_ticket, can_view_ticket)

PARK = Actor(user_id=30, role="agent", department_id=3)
SECURITY = Actor(user_id=40, role="agent", department_id=4)
CLERK = Actor(user_id=50, role="agent", department_id=5)
DESK = Actor(user_id=10, role="agent", department_id=1)
CUSTOMER = Actor(user_id=20, role="customer", customer_id=5)
ADMIN = Actor(user_id=1, role="admin")

# A ticket of the service desk (department 1) with two parallel task steps open:
# step 7 held by park dispatch (department 3), step 8 by one security agent (user 40).
TICKET = TicketFacts(1, None, 5, 20, step_holders=(StepHolder(7, department_id=3),
                                                    StepHolder(8, user_ids=(40,))))


def test_holders_of_an_open_step_may_read_the_ticket_but_not_work_it():
    for holder in (PARK, SECURITY):
        assert can_view_ticket(holder, TICKET)
        assert not can_edit_ticket(holder, TICKET)


def test_a_holder_completes_their_own_step_and_no_other():
    assert can_complete_step(PARK, TICKET, 7)
    assert not can_complete_step(PARK, TICKET, 8)
    assert can_complete_step(SECURITY, TICKET, 8)
    assert not can_complete_step(SECURITY, TICKET, 7)


def test_staff_who_work_the_ticket_complete_any_step_and_others_none():
    for worker in (DESK, ADMIN):
        assert can_complete_step(worker, TICKET, 7) and can_complete_step(worker, TICKET, 8)
    assert not can_view_ticket(CLERK, TICKET)
    assert not can_complete_step(CLERK, TICKET, 7)


def test_the_grant_ends_with_the_step_and_never_reaches_customers():
    closed = TicketFacts(1, None, 5, 20)  # no open steps any more
    assert not can_view_ticket(PARK, closed) and not can_complete_step(PARK, closed, 7)
    stranger = Actor(user_id=21, role="customer", customer_id=6, department_id=3)
    assert not can_view_ticket(stranger, TICKET)
    assert not can_complete_step(CUSTOMER, TICKET, 7)


def test_a_step_holder_grant_does_not_open_the_tickets_sub_tickets():
    child = TicketFacts(2, None, None, None, parents=(TICKET,))
    assert not can_view_ticket(PARK, child)
    assert can_view_ticket(DESK, child)
