"""Ticket life cycle through the services, on SQLite and PostgreSQL."""
import datetime as dt

import pytest

from appliance.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationError
from appliance.models import Ticket, TimelineEvent
from appliance.services import comments, tickets
from appliance.services.tickets import TicketInput
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


def test_a_new_ticket_gets_a_yearly_number_and_a_created_event(settings, org):
    t1 = ticket(settings, org.agent, department_id=org.after_sales)
    t2 = ticket(settings, org.agent, department_id=org.after_sales)
    year = dt.datetime.utcnow().year
    assert t1.summary.number == f"GD-{year}-000001" and t2.summary.number == f"GD-{year}-000002"
    assert [e.kind for e in t1.events] == ["created"]
    assert t1.summary.status == "new" and t1.summary.priority == 3


def test_missing_and_invalid_fields_are_reported_together_and_nothing_is_stored(settings, org):
    with pytest.raises(ValidationError) as exc:
        tickets.create_ticket(org.agent, TicketInput(subject="  ", priority="P9", channel="fax",
                                                     department_id=999), settings)
    assert set(exc.value.fields) == {"subject", "priority", "channel", "department_id"}
    assert Ticket.select().count() == 0


def test_control_characters_are_stripped_and_script_tags_kept_as_text(settings, org):
    t = ticket(settings, org.agent, subject="<script>alert(1)</script>\x00\x07 打印机")
    assert t.summary.subject == "<script>alert(1)</script> 打印机"


def test_a_customer_creates_tickets_only_for_themselves(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="退款没到账", priority=1,
                                                        department_id=org.logistics), settings)
    assert t.summary.customer.id == org.customer.customer_id
    assert t.summary.priority == 3 and t.summary.department is None  # staff-only fields ignored
    assert t.requester.id == org.customer.user_id


def test_every_field_change_is_a_timeline_event_with_before_and_after(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    d = tickets.update_ticket(org.agent, t.summary.id, {"priority": "P1", "urgency": "high",
                                                         "assignee_id": org.agent.user_id,
                                                         "tags": ["vip", "打印机"]},
                              settings, expected_version=t.summary.version)
    changes = {(e.field, str(e.before), str(e.after)) for e in d.events if e.field}
    assert ("priority", "3", "1") in changes and ("urgency", "medium", "high") in changes
    assert ("assignee_id", "None", str(org.agent.user_id)) in changes
    assert d.tags == ["vip", "打印机"]


def test_two_agents_editing_the_same_version_get_a_conflict_not_an_overwrite(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    tickets.update_ticket(org.agent, t.summary.id, {"priority": 1}, settings,
                          expected_version=t.summary.version)
    with pytest.raises(Conflict):
        tickets.update_ticket(org.supervisor, t.summary.id, {"priority": 4}, settings,
                              expected_version=t.summary.version)
    assert Ticket.get_by_id(t.summary.id).priority == 1


def test_an_illegal_transition_names_the_allowed_ones(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    tickets.transition_ticket(org.agent, t.summary.id, "closed", settings)
    with pytest.raises(IllegalTransition) as exc:
        tickets.transition_ticket(org.agent, t.summary.id, "pending_customer", settings)
    assert exc.value.allowed == ["open"]


def test_resolve_then_reopen_within_the_window_clears_the_end_times(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    d = tickets.transition_ticket(org.agent, t.summary.id, "resolved", settings)
    assert d.resolved_at is not None and not Ticket.get_by_id(t.summary.id).is_open
    d = tickets.transition_ticket(org.agent, t.summary.id, "open", settings)
    assert d.resolved_at is None and d.summary.status == "open"
    assert "reopened" in [e.kind for e in d.events]


def test_reopening_after_the_window_is_refused(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    tickets.transition_ticket(org.agent, t.summary.id, "resolved", settings)
    old = dt.datetime.utcnow() - dt.timedelta(days=settings.reopen_window_days + 1)
    Ticket.update(resolved_at=old).where(Ticket.id == t.summary.id).execute()
    with pytest.raises(IllegalTransition):
        tickets.transition_ticket(org.agent, t.summary.id, "open", settings)


def test_an_agent_of_another_department_cannot_even_see_the_ticket(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    with pytest.raises(NotFound):
        tickets.get_ticket(org.agent2, t.summary.id, settings)
    with pytest.raises(NotFound):
        tickets.update_ticket(org.agent2, t.summary.id, {"priority": 1}, settings)


def test_a_customer_cannot_change_ticket_fields(settings, org):
    t = tickets.create_ticket(org.customer, TicketInput(subject="发票"), settings)
    with pytest.raises(PermissionDenied):
        tickets.update_ticket(org.customer, t.summary.id, {"priority": 1}, settings)


def test_agents_cannot_assign_outside_the_department_but_supervisors_can(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    with pytest.raises(ValidationError) as exc:
        tickets.update_ticket(org.agent, t.summary.id, {"assignee_id": org.agent2.user_id}, settings)
    assert "assignee_id" in exc.value.fields
    d = tickets.update_ticket(org.supervisor, t.summary.id, {"assignee_id": org.agent2.user_id},
                              settings)
    assert d.summary.assignee.id == org.agent2.user_id


def test_unknown_fields_are_refused_by_name(settings, org):
    t = ticket(settings, org.agent)
    with pytest.raises(ValidationError) as exc:
        tickets.update_ticket(org.agent, t.summary.id, {"number": "X", "version": 9}, settings)
    assert set(exc.value.fields) == {"number", "version"}


def test_timeline_rows_are_only_ever_appended(settings, org):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    before = [(e.id, e.kind) for e in TimelineEvent.select().order_by(TimelineEvent.id)]
    comments.add_comment(org.agent, t.summary.id, "已收到", settings)
    after = [(e.id, e.kind) for e in TimelineEvent.select().order_by(TimelineEvent.id)]
    assert after[:len(before)] == before and len(after) > len(before)
