"""Concurrent writers: unique numbers, no lost tickets, no lost updates."""
import threading

from appliance.db import database
from appliance.errors import Conflict
from appliance.models import Ticket
from appliance.services import tickets
from tests.factories import make_org, ticket


def run_threads(n, fn):
    errors = []

    def wrapped(i):
        try:
            fn(i)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            database.close()
    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_creators_get_unique_consecutive_numbers(settings):
    org = make_org()

    def create(i):
        for j in range(8):
            ticket(settings, org.agent, subject=f"并发 {i}-{j}")
    assert run_threads(4, create) == []
    numbers = [t.number for t in Ticket.select()]
    assert len(numbers) == 32 and len(set(numbers)) == 32
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 33))


def test_concurrent_edits_of_one_version_let_exactly_one_win(settings):
    org = make_org()
    t = ticket(settings, org.agent, department_id=org.after_sales)
    results = []

    def edit(i):
        try:
            tickets.update_ticket(org.agent, t.summary.id, {"priority": (i % 4) + 1}, settings,
                                  expected_version=t.summary.version)
            results.append("ok")
        except Conflict:
            results.append("conflict")
    assert run_threads(4, edit) == []
    assert results.count("ok") == 1 and results.count("conflict") == 3
    assert Ticket.get_by_id(t.summary.id).version == t.summary.version + 1
