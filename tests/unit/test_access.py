from appliance.rules.access import Actor, TicketFacts, can_assign_to, can_edit_ticket, can_view_ticket

AGENT = Actor(user_id=10, role="agent", department_id=1)
CUSTOMER = Actor(user_id=20, role="customer", customer_id=5)
ADMIN = Actor(user_id=1, role="admin")


def test_an_agent_sees_tickets_of_their_department_the_triage_pool_and_their_own():
    assert can_view_ticket(AGENT, TicketFacts(1, None, None, None))
    assert can_view_ticket(AGENT, TicketFacts(None, None, None, None))
    assert can_view_ticket(AGENT, TicketFacts(2, 10, None, None))
    assert not can_view_ticket(AGENT, TicketFacts(2, 11, None, None))


def test_a_customer_sees_only_tickets_they_requested_or_of_their_customer_record():
    assert can_view_ticket(CUSTOMER, TicketFacts(1, None, 5, None))
    assert can_view_ticket(CUSTOMER, TicketFacts(1, None, None, 20))
    assert not can_view_ticket(CUSTOMER, TicketFacts(1, None, 6, 21))


def test_customers_never_edit_tickets_and_admins_see_everything():
    assert not can_edit_ticket(CUSTOMER, TicketFacts(1, None, 5, 20))
    assert can_view_ticket(ADMIN, TicketFacts(9, 99, 99, 99))


def test_agents_assign_only_within_the_ticket_department():
    assert can_assign_to(AGENT, 1, 1)
    assert not can_assign_to(AGENT, 2, 1)
    assert can_assign_to(Actor(3, "supervisor", 1), 2, 1)


def test_staff_following_a_parent_ticket_may_open_its_sub_tickets_in_other_departments():
    child = TicketFacts(2, None, None, None, parents=(TicketFacts(1, None, None, None),))
    assert can_view_ticket(AGENT, child)
    assert not can_view_ticket(Actor(11, "agent", department_id=3), child)
    pool_child = TicketFacts(2, None, None, None, parents=(TicketFacts(None, None, None, None),))
    assert not can_view_ticket(Actor(11, "agent", department_id=3), pool_child)
    mine = TicketFacts(2, None, None, None, parents=(TicketFacts(None, 11, None, None),))
    assert can_view_ticket(Actor(11, "agent", department_id=3), mine)
