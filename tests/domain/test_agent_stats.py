"""Agent efficiency figures (AgentStat) from tickets handled through the real services,
on SQLite and PostgreSQL: median handling time, first-contact resolution, reopen rate,
the rolling window, per-category and overall rows, idempotence and the job."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from appliance import jobs
from appliance.db import database
from appliance.models import AgentStat, Job, Ticket, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import agent_stats, comments, org, tickets
from tests.factories import make_org, ticket

NOW = utcnow()


@pytest.fixture
def world(settings):
    o = make_org()
    repair = org.save_category(SYSTEM, "维修", department_id=o.after_sales).id
    returns = org.save_category(SYSTEM, "退换货", department_id=o.after_sales).id
    return o, repair, returns


def _handled(settings, o, category, minutes, *, replies=1, follow_ups=0, reopen=False,
             days_ago=1.0):
    """A ticket of 张三 assigned to 王芳 and resolved by her `days_ago` days before NOW,
    after `minutes` of handling: one internal note, `replies` public replies, then
    `follow_ups` messages from the customer each answered again."""
    t = ticket(settings, o.admin, "洗衣机漏水", department_id=o.after_sales,
               category_id=category, assignee_id=o.agent.user_id,
               customer_id=o.customer.customer_id).summary
    comments.add_comment(o.agent, t.id, "内部备注", settings, internal=True)
    for _ in range(replies):
        comments.add_comment(o.agent, t.id, "您好，已为您处理。", settings)
    for _ in range(follow_ups):
        comments.add_comment(o.customer, t.id, "还是不行。", settings)
        comments.add_comment(o.agent, t.id, "再试一次。", settings)
    if reopen:
        tickets.transition_ticket(o.agent, t.id, "resolved", settings)
        tickets.transition_ticket(o.agent, t.id, "open", settings)
    tickets.transition_ticket(o.agent, t.id, "resolved", settings)
    resolved = NOW - dt.timedelta(days=days_ago)
    Ticket.update(assigned_at=resolved - dt.timedelta(minutes=minutes),
                  resolved_at=resolved).where(Ticket.id == t.id).execute()
    return t.id


def _rows(user_id):
    return {s.category_id: s for s in AgentStat.select().where(AgentStat.user == user_id)}


def _values(user_id):
    return {c: (s.id, s.window_days, s.closed, s.median_handle_minutes, s.fcr_rate,
                s.reopen_rate, s.csat) for c, s in _rows(user_id).items()}


def test_figures_per_category_and_overall_come_from_the_agents_resolved_tickets(settings, backend, world):
    o, repair, returns = world
    _handled(settings, o, repair, 10, replies=1)               # first contact
    _handled(settings, o, repair, 30, replies=2)               # answer + closing: first contact
    _handled(settings, o, repair, 20, follow_ups=1)            # customer wrote again: not
    _handled(settings, o, returns, 50, replies=0, reopen=True)  # reopened
    assert agent_stats.recompute_agent(o.agent.user_id, NOW) == 3
    rows = _rows(o.agent.user_id)
    assert set(rows) == {repair, returns, None}
    overall, r, b = rows[None], rows[repair], rows[returns]
    assert (overall.closed, overall.median_handle_minutes) == (4, pytest.approx(25, abs=0.01))
    assert overall.fcr_rate == pytest.approx(2 / 4, abs=1e-4)
    assert overall.reopen_rate == pytest.approx(1 / 4, abs=1e-4)
    assert (r.closed, r.median_handle_minutes, r.fcr_rate, r.reopen_rate) == (
        3, pytest.approx(20, abs=0.01), pytest.approx(2 / 3, abs=1e-4), 0.0)
    assert (b.closed, b.median_handle_minutes, b.fcr_rate, b.reopen_rate) == (
        1, pytest.approx(50, abs=0.01), 0.0, 1.0)
    assert all(s.csat is None and s.window_days == 90 for s in rows.values())


def test_tickets_resolved_before_the_window_or_still_open_do_not_count(settings, backend, world):
    o, repair, _ = world
    _handled(settings, o, repair, 10)
    _handled(settings, o, repair, 1000, days_ago=91)
    ticket(settings, o.admin, "还没修好", department_id=o.after_sales, category_id=repair,
           assignee_id=o.agent.user_id)
    agent_stats.recompute_agent(o.agent.user_id, NOW)
    rows = _rows(o.agent.user_id)
    assert rows[None].closed == rows[repair].closed == 1
    assert rows[repair].median_handle_minutes == pytest.approx(10, abs=0.01)


def test_rows_of_categories_that_left_the_window_are_deleted_as_it_rolls(settings, backend, world):
    o, repair, returns = world
    _handled(settings, o, repair, 10, days_ago=1)
    _handled(settings, o, returns, 20, days_ago=60)
    agent_stats.recompute_agent(o.agent.user_id, NOW)
    assert set(_rows(o.agent.user_id)) == {repair, returns, None}
    agent_stats.recompute_agent(o.agent.user_id, NOW + dt.timedelta(days=40))
    assert set(_rows(o.agent.user_id)) == {repair, None}
    roll = agent_stats.recompute_all(NOW + dt.timedelta(days=100))
    assert _rows(o.agent.user_id) == {}
    assert (roll.with_figures, roll.rows) == (0, 0) and roll.agents >= 4


def test_running_twice_gives_the_same_rows(settings, backend, world):
    o, repair, returns = world
    _handled(settings, o, repair, 10)
    _handled(settings, o, returns, 25, replies=3)
    agent_stats.recompute_agent(o.agent.user_id, NOW)
    first = _values(o.agent.user_id)
    agent_stats.recompute_agent(o.agent.user_id, NOW)
    assert _values(o.agent.user_id) == first
    assert agent_stats.recompute_all(NOW).rows == 3
    assert _values(o.agent.user_id) == first


def test_two_runs_at_once_neither_fail_nor_duplicate_the_overall_row(settings, backend, world):
    o, repair, _ = world
    _handled(settings, o, repair, 10)
    start, errors = threading.Barrier(2), []

    def run():
        try:
            start.wait()
            agent_stats.recompute_agent(o.agent.user_id, NOW)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            database.close()
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    categories = [s.category_id for s in AgentStat.select().where(
        AgentStat.user == o.agent.user_id)]
    assert sorted(categories, key=str) == sorted([repair, None], key=str)


def test_resolving_a_ticket_schedules_the_job_that_recomputes_the_assignees_figures(settings, backend, world):
    o, repair, _ = world
    t = ticket(settings, o.admin, "洗衣机漏水", department_id=o.after_sales, category_id=repair,
               assignee_id=o.agent.user_id).summary
    comments.add_comment(o.agent, t.id, "已处理", settings)
    tickets.transition_ticket(o.agent, t.id, "resolved", settings)
    job = Job.get((Job.name == "agent_stats") & (Job.object_id == o.agent.user_id))
    assert _rows(o.agent.user_id) == {}
    assert jobs.run_job(job.id)
    rows = _rows(o.agent.user_id)
    assert set(rows) == {repair, None} and rows[None].closed == 1 and rows[None].fcr_rate == 1.0
