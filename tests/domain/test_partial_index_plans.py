"""The lookups on columns that hold one value on nearly every row read the partial
indexes of migration 0032 (docs/decisions/0049), on SQLite and on PostgreSQL, once the
planner has statistics saying so: the "Needs triage" count on every agent page, the
triage queue, the ticket page's "merged into this one" and the ID-number lookup.

Before it, SQLite's planner walked the agent's whole department for this count (its
statistics keep one average per index, and the average state is the common one): 40-90 ms
on every queue page at 200,000 tickets (bench/profile_pages.py)."""
from __future__ import annotations

from peewee import chunked

from appliance.db import database, is_postgres
from appliance.models import Ticket
from appliance.services import queues
from tests.factories import make_org, ticket

ROWS = 3000


def _many_tickets(settings, org) -> int:
    """ROWS tickets of the agent's department, all triaged, and one waiting for review."""
    first = ticket(settings, org.agent, department_id=org.after_sales).summary
    data = {k: v for k, v in Ticket.get_by_id(first.id).__data__.items() if k != "id"}
    rows = [{**data, "number": f"GD-2026-9{i:05d}", "triage_state": "done"}
            for i in range(ROWS)]
    with database.atomic():
        for batch in chunked(rows, 500):
            Ticket.insert_many(batch).execute()
    Ticket.update(triage_state="review").where(Ticket.id == first.id).execute()
    database.execute_sql("ANALYZE")
    return first.id


def _plan(sql: str, params) -> str:
    prefix = "EXPLAIN " if is_postgres() else "EXPLAIN QUERY PLAN "
    return "\n".join(str(row) for row in database.execute_sql(prefix + sql, params).fetchall())


def test_the_triage_count_reads_the_partial_index(settings, queries):
    org = make_org()
    _many_tickets(settings, org)
    for who in (org.agent, org.supervisor, org.admin):
        queries.clear()
        assert queues.triage_count(who) == "1"
        [(sql, params)] = queries.with_params
        plan = _plan(sql, params)
        assert "ticket_triage_review_id" in plan, plan


def test_the_triage_queue_reads_it_too(settings, queries):
    org = make_org()
    waiting = _many_tickets(settings, org)
    queries.clear()
    page = queues.triage_queue(org.agent)
    assert [row.id for row in page.items] == [waiting]
    sql, params = next((sql, params) for sql, params in queries.with_params
                       if "triage_state" in sql)
    assert "ticket_triage_review_id" in _plan(sql, params)


def _matching(queries, needle: str) -> list:
    return [(sql, params) for sql, params in queries.with_params if needle in sql]


def test_the_ticket_pages_merge_lookup_reads_the_partial_index(settings, queries):
    from appliance.services import conversations
    org = make_org()
    first = _many_tickets(settings, org)
    queries.clear()
    assert conversations.conversation_for_ticket(org.agent, first) == []
    [(sql, params)] = _matching(queries, '"merged_into_id" IN')
    assert "ticket_merged_into_id" in _plan(sql, params)


def test_the_id_number_lookup_reads_the_partial_index(settings, queries):
    from appliance.models import Customer
    from appliance.services import customers
    org = make_org()
    Customer.insert_many([{"name_enc": "", "name_bidx": f"{i:032x}"} for i in range(ROWS)]).execute()
    database.execute_sql("ANALYZE")
    queries.clear()
    assert customers.find_customer_by_contact(org.agent, "110101199003074258") is None
    [(sql, params)] = _matching(queries, '"id_number_bidx" =')
    assert "customer_id_number_bidx" in _plan(sql, params)
