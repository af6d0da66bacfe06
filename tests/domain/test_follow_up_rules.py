"""Follow-up visit rules on SQLite and PostgreSQL: every problem named by field, overlapping
and self-contradicting rules refused, the pure matching and retry rules; and the agents'
CSAT in AgentStat (from answered surveys) as routing's quality signal."""
from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import AgentStat, FollowUpRule, Survey, utcnow
from appliance.rules import follow_up as rules
from appliance.rules import routing
from appliance.rules.access import SYSTEM
from appliance.services import agent_stats, csat, customers, dispatch_state, follow_up_rules, org
from appliance.services import tickets
from tests.conftest import with_settings
from tests.factories import make_org


@pytest.fixture
def world(settings):
    o = make_org()
    hardware = org.save_category(SYSTEM, "硬件", department_id=o.after_sales).id
    printers = org.save_category(SYSTEM, "打印机", parent_id=hardware,
                                 department_id=o.after_sales).id
    shipping = org.save_category(SYSTEM, "配送", department_id=o.logistics).id
    return settings, o, hardware, printers, shipping


def save(rule_id=None, **changes):
    data = {"name": "回访", "category_ids": [], "delay_minutes": 1440, "script": "您好",
            **changes}
    return follow_up_rules.save_rule(SYSTEM, rule_id, data)


def refused(**changes) -> dict:
    with pytest.raises(ValidationError) as err:
        save(**changes)
    return err.value.fields


def test_bad_values_are_refused_with_every_field_named_and_nothing_stored(backend, world):
    s, o, hardware, printers, shipping = world
    fields = refused(name="", category_ids=[9999], delay_minutes="x", script="",
                     assign_to="anyone", max_attempts=0, retry_minutes=-5,
                     pool_department_id=9999)
    assert set(fields) >= {"name", "category_ids", "delay_minutes", "script", "assign_to",
                           "max_attempts", "retry_minutes", "pool_department_id"}
    assert "unknown field" in refused(colour="red", category_ids=[printers])["colour"]
    assert "at least one" in refused()["category_ids"]          # a rule must select
    assert FollowUpRule.select().count() == 0


def test_contradictory_rules_are_refused(backend, world):
    s, o, hardware, printers, shipping = world
    fields = refused(category_ids=[printers], assign_to="resolver",
                     pool_department_id=o.after_sales)
    assert "assign_to department" in fields["pool_department_id"]
    lisi = o.other_customer.customer_id            # carries no tag
    fields = refused(customer_tags=["vip"], customer_ids=[lisi])
    assert f"customer {lisi}" in fields["customer_ids"]
    customers.update_customer(o.agent, lisi, {"tags": ["VIP"]})
    assert save(customer_tags=["vip"], customer_ids=[lisi]).customer_ids == [lisi]


def test_overlapping_rules_are_refused_naming_the_field_and_the_other_rule(backend, world):
    s, o, hardware, printers, shipping = world
    first = save(name="硬件回访", category_ids=[hardware])
    # A sub-category of a covered category overlaps.
    fields = refused(name="打印机回访", category_ids=[printers])
    assert "硬件回访" in fields["category_ids"]
    # A customer-tag rule overlaps too: a VIP's hardware ticket would match both.
    assert "硬件回访" in refused(name="VIP", customer_tags=["vip"])["customer_tags"]
    assert "another rule" in refused(name="硬件回访", category_ids=[shipping])["name"]
    # Disjoint categories are fine; so is an overlapping rule that is switched off.
    save(name="配送回访", category_ids=[shipping])
    off = save(name="VIP", customer_tags=["vip"], active=False)
    assert off.active is False
    # Editing a rule does not count it against itself.
    again = save(first.id, name="硬件回访", category_ids=[hardware], delay_minutes=60,
                 expected_version=first.version)
    assert (again.delay_minutes, again.version) == (60, 2)
    with pytest.raises(Conflict):                            # a stale form
        save(first.id, name="硬件回访", category_ids=[hardware], expected_version=1)


def test_rules_are_for_administrators_and_bad_ids_are_not_found(backend, world):
    s, o, hardware, printers, shipping = world
    with pytest.raises(PermissionDenied):
        follow_up_rules.save_rule(o.supervisor, None, {"name": "x", "category_ids": [hardware],
                                                       "script": "s"})
    with pytest.raises(PermissionDenied):
        follow_up_rules.list_rules(o.agent)
    for bad in (999, "abc"):
        with pytest.raises(NotFound):
            follow_up_rules.get_rule(SYSTEM, bad)
        with pytest.raises(NotFound):
            follow_up_rules.delete_rule(SYSTEM, bad)


def test_matching_overlap_and_retry_rules():
    parents = {1: None, 2: 1, 3: None}
    vip = rules.RuleFacts(1, "vip", customer_tags=frozenset({"vip"}))
    printers = rules.RuleFacts(2, "printers", category_ids=frozenset({2}))
    hardware = rules.RuleFacts(3, "hardware", category_ids=frozenset({1}))
    other = rules.RuleFacts(4, "other", category_ids=frozenset({3}))
    t = rules.TicketFacts(2, 7, frozenset())
    assert rules.matches(printers, t, parents) and rules.matches(hardware, t, parents)
    assert not rules.matches(vip, t, parents) and not rules.matches(other, t, parents)
    assert not rules.matches(printers, rules.TicketFacts(2, None), parents)   # nobody to call
    assert rules.matching_rule([hardware, printers], t, parents).id == 2
    assert rules.overlap(printers, hardware, parents) == "category_ids"
    assert rules.overlap(other, hardware, parents) is None
    assert rules.overlap(vip, printers, parents) == "customer_tags"
    now = dt.datetime(2026, 1, 1, 9)
    assert rules.next_attempt(now, 60, 1, 3) == now + dt.timedelta(hours=1)
    assert rules.next_attempt(now, 60, 2, 3) == now + dt.timedelta(hours=2)
    assert rules.next_attempt(now, 60, 3, 3) is None


# -- AgentStat.csat ----------------------------------------------------------------------------

def _rated(s, o, category, rating):
    t = tickets.create_ticket(SYSTEM, tickets.TicketInput(
        subject="空调不制冷", department_id=o.after_sales, category_id=category,
        customer_id=o.customer.customer_id, assignee_id=o.agent.user_id), s).summary.id
    tickets.transition_ticket(o.agent, t, "resolved", s)
    survey = Survey.get(Survey.ticket == t)
    csat.answer_in_portal(o.customer, survey.id, rating, "", s)


def test_agent_csat_is_the_mean_rating_once_enough_customers_answered(backend, world):
    s, o, hardware, printers, shipping = world
    s = with_settings(s, csat_follow_up=False)   # low ratings here reopen nothing
    _rated(s, o, printers, 5)
    _rated(s, o, printers, 2)
    agent_stats.recompute_agent(o.agent.user_id)
    overall = AgentStat.get((AgentStat.user == o.agent.user_id) & AgentStat.category.is_null())
    assert (overall.csat, overall.csat_answers) == (None, 2)   # too few to judge
    _rated(s, o, printers, 5)
    _rated(s, o, hardware, 4)
    agent_stats.recompute_agent(o.agent.user_id)
    rows = {r.category_id: r for r in AgentStat.select().where(AgentStat.user == o.agent.user_id)}
    assert (rows[None].csat, rows[None].csat_answers) == (4.0, 4)
    assert (rows[printers].csat, rows[printers].csat_answers) == (4.0, 3)
    assert (rows[hardware].csat, rows[hardware].csat_answers) == (None, 1)
    # Answers older than the window do not count.
    Survey.update(answered_at=utcnow() - dt.timedelta(days=400)).execute()
    agent_stats.recompute_agent(o.agent.user_id)
    assert AgentStat.get((AgentStat.user == o.agent.user_id)
                         & AgentStat.category.is_null()).csat_answers == 0


def test_routing_prefers_the_agent_customers_rate_higher_all_else_equal(backend, world):
    s, o, hardware, printers, shipping = world
    s = with_settings(s, csat_follow_up=False)
    for rating in (5, 5, 4):
        _rated(s, o, printers, rating)
    agent_stats.recompute_agent(o.agent.user_id)
    mine = dispatch_state._efficiency([o.agent.user_id], printers)[o.agent.user_id]
    assert mine.csat == pytest.approx(14 / 3, abs=1e-3)
    poorly_rated = routing.Efficiency(mine.closed, mine.median_handle_minutes,
                                      mine.fcr_rate, mine.reopen_rate, 1.5)
    agents = [routing.AgentState(i, name, efficiency=e) for i, name, e in (
        (1, "low", poorly_rated), (2, "high", mine))]
    ranking = routing.rank(routing.TicketNeeds(ticket_id=1, category_id=printers), agents)
    assert [c.name for c in ranking.candidates] == ["high", "low"]
    high, low = ranking.candidates
    assert high.parts["efficiency"] > low.parts["efficiency"]
    assert {k: v for k, v in high.parts.items() if k != "efficiency"} == \
        {k: v for k, v in low.parts.items() if k != "efficiency"}
    # A middling mean (3 of 5) is "typical": it neither helps nor hurts.
    assert routing.efficiency_score(routing.Efficiency(10 ** 9, csat=3.0), None) == \
        pytest.approx(0.5)
