"""Callbacks (回拨) on SQLite and PostgreSQL: scheduling, done / no answer / cancel with
timeline events, permission and input refusals, and the due reminder sent exactly once."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.models import Callback, Notification, Ticket, TimelineEvent, utcnow
from appliance.rules.access import SYSTEM, can_view_ticket
from appliance.services import callbacks, common, customers, links, tickets, users
from appliance.services.callbacks import CallbackInput
from tests.factories import make_org, ticket


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def tk(settings, org):
    c = customers.create_customer(org.agent, "赵六", contacts=[
        {"kind": "phone", "value": "+86 138 0000 1111"}, {"kind": "email", "value": "z@e.com"}])
    return ticket(settings, org.agent, "空调不制冷", department_id=org.after_sales,
                  customer_id=c.id).summary


def soon(minutes=30) -> dt.datetime:
    return utcnow() + dt.timedelta(minutes=minutes)


def events(ticket_id: int) -> list[str]:
    return [e.kind for e in TimelineEvent.select().where(
        (TimelineEvent.ticket == ticket_id) & TimelineEvent.kind.startswith("callback_"))
        .order_by(TimelineEvent.id)]


def test_an_agent_schedules_a_callback_for_themselves_and_it_is_on_the_timeline(org, tk):
    phones = callbacks.phone_choices(org.agent, tk.id)
    assert len(phones) == 1 and phones[0].endswith("13800001111")
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="+86 138 0000 1111", due_at=soon(), note="问安装时间"))
    assert (c.agent.id, c.status, c.overdue, c.ticket_number) == (
        org.agent.user_id, "open", False, tk.number)
    assert events(tk.id) == ["callback_scheduled"]
    e = TimelineEvent.get(TimelineEvent.kind == "callback_scheduled")
    after = str(e.after).replace(" ", "")
    assert e.internal and "13800001111" not in after  # no phone number in the timeline
    assert [x.id for x in callbacks.mine(org.agent)] == [c.id]


def test_the_callback_may_go_to_the_supervisor_but_not_to_staff_who_cannot_see_the_ticket(
        org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(), agent_id=org.supervisor.user_id))
    assert c.agent.id == org.supervisor.user_id
    names = {a.id for a in callbacks.agent_choices(org.agent, tk.id)}
    assert org.supervisor.user_id in names and org.agent2.user_id not in names
    with pytest.raises(ValidationError) as exc:
        callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
            phone="13800001111", due_at=soon(), agent_id=org.agent2.user_id))
    assert "agent_id" in exc.value.fields
    with pytest.raises(ValidationError) as exc:  # a customer is no agent
        callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
            phone="13800001111", due_at=soon(), agent_id=org.customer.user_id))
    assert "agent_id" in exc.value.fields


def test_bad_phone_past_time_and_missing_time_are_refused_naming_each_field(org, tk):
    with pytest.raises(ValidationError) as exc:
        callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
            phone="call me", due_at=utcnow() - dt.timedelta(hours=1), note="x" * 3000))
    assert set(exc.value.fields) == {"phone", "due_at", "note"}
    with pytest.raises(ValidationError) as exc:
        callbacks.schedule_callback(org.agent, tk.id, CallbackInput(phone="13800001111"))
    assert exc.value.fields == {"due_at": "required"}
    assert Callback.select().count() == 0 and events(tk.id) == []


def test_only_staff_who_can_work_the_ticket_schedule_or_change_callbacks(org, tk):
    with pytest.raises(NotFound):
        callbacks.schedule_callback(org.agent2, tk.id, CallbackInput(
            phone="13800001111", due_at=soon()))
    with pytest.raises((PermissionDenied, NotFound)):
        callbacks.schedule_callback(org.customer, tk.id, CallbackInput(
            phone="13800001111", due_at=soon()))
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon()))
    with pytest.raises(NotFound):
        callbacks.cancel(org.agent2, c.id)
    with pytest.raises(NotFound):
        callbacks.for_ticket(org.agent2, tk.id)
    assert Callback.get_by_id(c.id).status == "open"


def test_done_records_the_outcome_and_a_closed_callback_cannot_change(org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon()))
    done = callbacks.complete(org.agent, c.id, "约好周五上门")
    assert (done.status, done.outcome) == ("done", "约好周五上门") and done.done_at
    with pytest.raises(ValidationError):
        callbacks.cancel(org.agent, c.id)
    assert events(tk.id) == ["callback_scheduled", "callback_done"]


def test_no_answer_with_a_new_time_closes_it_and_schedules_the_next_call(org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(), note="第一次"))
    failed, again = callbacks.fail(org.agent, c.id, "无人接听", soon(120))
    assert failed.status == "failed" and again.status == "open"
    assert (again.phone, again.agent.id, again.note) == ("13800001111", org.agent.user_id, "第一次")
    assert events(tk.id) == ["callback_scheduled", "callback_failed", "callback_scheduled"]
    failed2, none = callbacks.fail(org.agent, again.id, "空号")
    assert none is None and failed2.status == "failed"


def test_a_bad_reschedule_time_leaves_the_callback_open(org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon()))
    with pytest.raises(ValidationError):
        callbacks.fail(org.agent, c.id, "无人接听", utcnow() - dt.timedelta(days=1))
    assert Callback.get_by_id(c.id).status == "open" and Callback.select().count() == 1


def test_cancel_and_the_ticket_list_order(org, tk):
    late = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(300)))
    early = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(10)))
    gone = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(20)))
    callbacks.cancel(org.agent, gone.id)
    assert [c.id for c in callbacks.for_ticket(org.agent, tk.id)] == [early.id, late.id, gone.id]
    assert events(tk.id)[-1] == "callback_cancelled"


def test_update_refuses_unknown_fields_and_reassigning_resets_the_reminder(org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon()))
    with pytest.raises(ValidationError) as exc:
        callbacks.update_callback(org.agent, c.id, {"phone": "1"})
    assert exc.value.fields == {"phone": "unknown or read-only field"}
    Callback.update(reminded_at=utcnow()).where(Callback.id == c.id).execute()
    moved = callbacks.update_callback(org.agent, c.id, {"agent_id": org.supervisor.user_id})
    assert moved.agent.id == org.supervisor.user_id
    assert Callback.get_by_id(c.id).reminded_at is None


def test_remind_due_notifies_the_agent_once_and_only_for_due_open_callbacks(org, tk):
    due = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(1)))
    callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(600)))
    cancelled = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(1)))
    callbacks.cancel(org.agent, cancelled.id)
    Callback.update(due_at=utcnow() - dt.timedelta(minutes=5)).where(
        Callback.id.in_([due.id, cancelled.id])).execute()
    assert callbacks.due_count(org.agent) == 1
    assert callbacks.remind_due() == 1
    assert callbacks.remind_due() == 0
    n = Notification.get()
    assert (n.user_id, n.kind, n.ticket_id, n.data["callback_id"]) == (
        org.agent.user_id, "callback_due", tk.id, due.id)
    assert [x.overdue for x in callbacks.mine(org.agent)] == [True, False]


def test_a_disabled_agent_cannot_be_given_a_callback(org, tk):
    users.disable_user(org.admin, org.supervisor.user_id)
    with pytest.raises(ValidationError):
        callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
            phone="13800001111", due_at=soon(), agent_id=org.supervisor.user_id))


def test_the_number_is_masked_for_staff_who_do_not_work_on_the_customer(settings, org):
    c = customers.create_customer(org.admin, "钱七", contacts=[
        {"kind": "phone", "value": "13912345678"}])
    pool = ticket(settings, org.admin, "无部门工单", customer_id=c.id).summary  # triage pool
    assert callbacks.phone_choices(org.admin, pool.id) == ["13912345678"]
    assert callbacks.phone_choices(org.agent, pool.id) == []  # no prefill of masked numbers
    cb = callbacks.schedule_callback(org.admin, pool.id, CallbackInput(
        phone="13912345678", due_at=soon(), agent_id=org.agent2.user_id))
    assert callbacks.for_ticket(org.agent, pool.id)[0].phone == "139****5678"
    assert callbacks.for_ticket(org.agent2, pool.id)[0].phone == "13912345678"  # the caller
    assert callbacks.mine(org.agent2)[0].id == cb.id
    assert callbacks.for_ticket(org.supervisor, pool.id)[0].phone == "13912345678"


# --- an agent who lost the ticket -------------------------------------------------------------

def _due_now(*ids) -> None:
    Callback.update(due_at=utcnow() - dt.timedelta(minutes=5)).where(
        Callback.id.in_(list(ids))).execute()


def test_a_ticket_moved_to_another_department_leaves_the_old_agents_callbacks(
        settings, org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(1)))
    _due_now(c.id)
    assert callbacks.due_count(org.agent) == 1 and len(callbacks.mine(org.agent)) == 1
    tickets.update_ticket(SYSTEM, tk.id, {"department_id": org.logistics}, settings)
    # 王芳 can no longer open the ticket: no number, subject or phone in "My callbacks".
    assert callbacks.mine(org.agent) == [] and callbacks.due_count(org.agent) == 0
    # Nobody holds the ticket now: the callback is claimed without a notification and
    # stays open (and overdue) on the ticket for whoever works it.
    assert callbacks.remind_due() == 0 and Notification.select().count() == 0
    assert Callback.get_by_id(c.id).reminded_at is not None
    [seen] = callbacks.for_ticket(org.agent2, tk.id)
    assert (seen.id, seen.status, seen.overdue) == (c.id, "open", True)
    # Taking it over clears the claim: the new agent is reminded.
    callbacks.update_callback(org.agent2, c.id, {"agent_id": org.agent2.user_id})
    assert [x.id for x in callbacks.mine(org.agent2)] == [c.id]
    assert callbacks.remind_due() == 1
    assert Notification.get().user_id == org.agent2.user_id


def test_the_reminder_of_a_reassigned_ticket_goes_to_its_current_assignee(settings, org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(1)))
    _due_now(c.id)
    tickets.update_ticket(SYSTEM, tk.id, {"department_id": org.logistics,
                                          "assignee_id": org.agent2.user_id}, settings)
    assert callbacks.mine(org.agent) == [] and callbacks.due_count(org.agent) == 0
    assert callbacks.remind_due() == 1 and callbacks.remind_due() == 0
    n = Notification.get()
    assert (n.user_id, n.ticket_id, n.data["callback_id"]) == (org.agent2.user_id, tk.id, c.id)


def test_a_disabled_agents_reminder_goes_to_the_assignee(settings, org, tk):
    c = callbacks.schedule_callback(org.agent, tk.id, CallbackInput(
        phone="13800001111", due_at=soon(1), agent_id=org.supervisor.user_id))
    tickets.update_ticket(SYSTEM, tk.id, {"assignee_id": org.agent.user_id}, settings)
    users.disable_user(org.admin, org.supervisor.user_id)
    _due_now(c.id)
    assert callbacks.remind_due() == 1
    assert Notification.get().user_id == org.agent.user_id


def test_my_callbacks_follow_the_ticket_visibility_rule_for_sub_tickets_and_the_pool(
        settings, org, tk):
    """The SQL filter of mine()/due_count() agrees with rules.access.can_view_ticket."""
    child = ticket(settings, org.admin, "上门维修", department_id=org.logistics).summary
    links.link_tickets(org.admin, tk.id, child.id, "parent", settings)
    pool = ticket(settings, org.admin, "待分派").summary
    made = [callbacks.schedule_callback(org.admin, t, CallbackInput(
        phone="13800001111", due_at=soon(1), agent_id=org.agent.user_id)).id
        for t in (tk.id, child.id, pool.id)]
    _due_now(*made)
    assert [c.id for c in callbacks.mine(org.agent)] == made
    assert callbacks.due_count(org.agent) == 3
    tickets.update_ticket(SYSTEM, tk.id, {"department_id": org.logistics}, settings)
    tickets.update_ticket(SYSTEM, pool.id, {"department_id": org.logistics}, settings)
    # The parent left 售后 too: the sub-ticket is out of reach with it.
    for t in (tk.id, child.id, pool.id):
        assert not can_view_ticket(org.agent, common.facts(Ticket.get_by_id(t)))
    assert callbacks.mine(org.agent) == [] and callbacks.due_count(org.agent) == 0
    tickets.update_ticket(SYSTEM, tk.id, {"assignee_id": org.agent.user_id}, settings)
    assert [c.id for c in callbacks.mine(org.agent)] == made[:2]  # parent assigned to her
    assert callbacks.due_count(org.agent) == 2


# -- encryption at rest (migration 0029, decision 0045) ---------------------------------------

def test_the_number_is_stored_encrypted_bound_to_its_row(org, tk):
    from appliance.db import database
    from appliance.services import encryption
    c = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13800001111", due_at=utcnow() + dt.timedelta(hours=1)))
    raw = repr(database.execute_sql('SELECT * FROM "callback"').fetchall())
    assert "13800001111" not in raw and "0001111" not in raw
    other = callbacks.schedule_callback(org.agent, tk.id, callbacks.CallbackInput(
        phone="13900002222", due_at=utcnow() + dt.timedelta(hours=2)))
    stolen = Callback.get_by_id(c.id).phone_enc
    Callback.update(phone_enc=stolen).where(Callback.id == other.id).execute()
    with pytest.raises(encryption.TamperedData):
        callbacks.for_ticket(org.agent, tk.id)


def test_migration_0029_encrypts_numbers_written_before_it(backend, settings, tmp_path):
    from appliance import migrate
    from appliance.db import database
    from appliance.rules.access import SYSTEM
    from appliance.services import keys, org
    from tests.factories import actor
    from tests.migration_helpers import database_at, insert_row
    with database_at("0028_backup_runs", backend, settings, tmp_path):
        keys.activate(settings, environ={})
        # Rows, not the services: today's users and tickets (encrypted names and addresses,
        # 0033-0035) do not fit a 0028 database.
        dept = org.save_department(SYSTEM, "AS", "售后", "After-sales").id
        agent_id = insert_row("user", username="wangfang", display_name="王芳", role="agent",
                              department_id=dept, active=True)
        ticket_id = insert_row("ticket", number="GD-2026-000001", subject="空调不制冷",
                               department_id=dept, status="open", priority=3)
        insert_row("callback", ticket_id=ticket_id, agent_id=agent_id, phone="13800001111",
                   due_at=utcnow(), status="open")
        assert "0029_callback_phone" in migrate.upgrade()
        assert "phone" not in [c.name for c in database.get_columns("callback")]
        assert "13800001111" not in repr(database.execute_sql('SELECT * FROM "callback"')
                                         .fetchall())
        assert [v.phone for v in callbacks.for_ticket(actor("wangfang"), ticket_id)] == [
            "13800001111"]
