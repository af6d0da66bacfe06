"""Model.create's cached INSERT text and db.run_sql's hand-written statements
(docs/decisions/0056): the rows they write read back as peewee's own path writes them, on
SQLite and on PostgreSQL, and whatever the cached form cannot express takes peewee's path."""
import datetime as dt

import peewee

from appliance.db import run_sql
from appliance.models import Job, NumberSequence, TimelineEvent, base
from appliance.rules.numbering import format_number
from appliance.services.tickets import _next_number
from tests import factories


def _insert_statements(queries, table: str) -> list[str]:
    return [q for q in queries if q.startswith(f'INSERT INTO "{table}"')]


def test_a_created_row_reads_back_whole_with_its_id(settings, queries):
    t = factories.ticket(settings, factories.make_org().agent).summary
    first = TimelineEvent.create(ticket=t.id, kind="field_changed", field="priority",
                                 before={"value": 3, "名": "旧"}, after=None, internal=True)
    second = TimelineEvent.create(ticket=t.id, kind="comment", after=["a", 1])
    assert second.id > first.id > 0
    got = TimelineEvent.get_by_id(first.id)
    assert (got.ticket_id, got.kind, got.field, got.before, got.after, got.internal) == \
        (t.id, "field_changed", "priority", {"value": 3, "名": "旧"}, None, True)
    assert TimelineEvent.get_by_id(second.id).after == ["a", 1]
    assert isinstance(got.created_at, dt.datetime)
    assert not first.is_dirty() and first._pk == first.id
    # a JSON value and a NULL in the same column are two statements (json(?) and ?), each
    # built once and reused
    again = TimelineEvent.create(ticket=t.id, kind="field_changed", field="x",
                                 before={"v": 1}, after=None)
    assert TimelineEvent.get_by_id(again.id).before == {"v": 1}
    sqls = _insert_statements(queries, "timeline_event")
    assert len(sqls) >= 4 and len(set(sqls)) >= 2
    # every shape here is cached, JSON values included (psycopg2 wraps them in Json, which
    # has no equality of its own: compared by what it adapts)
    plans = [plan for (model, *_), plan in base._INSERTS.items() if model is TimelineEvent]
    assert plans and all(plans)


def test_the_cached_statement_is_peewees_own(settings):
    Job.create(name="index_ticket", object_id=7)
    plans = [plan[0] for (model, *_), plan in base._INSERTS.items() if model is Job and plan]
    assert plans
    expected, _ = Job.insert(name="x", object_id=1, created_at=dt.datetime(2026, 1, 1),
                             enqueued_at=None, attempts=0, last_error="").sql()
    assert expected in plans


def test_what_the_cache_cannot_express_takes_peewees_path(settings):
    # an expression as a value
    j = Job.create(name=peewee.fn.LOWER("INDEX_TICKET"), object_id=3)
    assert Job.get_by_id(j.id).name == "index_ticket"
    # a primary key that is not generated
    NumberSequence.create(year=2031, last=5)
    assert NumberSequence.get_by_id(2031).last == 5
    # a primary key given for an auto-increment table
    Job.create(id=90_001, name="index_ticket", object_id=1)
    assert Job.get_by_id(90_001).object_id == 1


def test_hand_written_statements_run_on_both_databases(settings):
    a = Job.create(name="index_ticket", object_id=11)
    Job.create(name="triage_ticket", object_id=11)
    rows = run_sql('SELECT "id" FROM "job" WHERE "object_id" = ? AND "name" IN (?, ?) '
                   'ORDER BY "id"', (11, "index_ticket", "triage_ticket")).fetchall()
    assert [r[0] for r in rows][0] == a.id and len(rows) == 2


def test_ticket_numbers_count_up_within_a_year_and_start_again_in_the_next(settings):
    s = settings
    first = _next_number(s, dt.datetime(2035, 3, 1, 12))
    second = _next_number(s, dt.datetime(2035, 3, 1, 12, 1))
    other_year = _next_number(s, dt.datetime(2036, 1, 5, 12))
    assert (first, second, other_year) == (
        format_number(s.ticket_number_prefix, 2035, 1),
        format_number(s.ticket_number_prefix, 2035, 2),
        format_number(s.ticket_number_prefix, 2036, 1))


def test_active_custom_fields_read_by_hand_written_sql_match_peewees(settings):
    from appliance.services import org
    from appliance.services.tickets import field_defs
    admin = factories.make_org().admin
    org.save_custom_field(admin, "model", "型号", "select", "A1, B2", required=True, position=1)
    org.save_custom_field(admin, "qty", "数量", "number", position=2)
    org.save_custom_field(admin, "old", "旧", "text", active=False, position=3)
    got = field_defs()
    assert [(d.key, d.kind, d.options, d.required) for d in got] == [
        ("model", "select", ("A1", "B2"), True), ("qty", "number", (), False)]
    assert got == field_defs(active_only=False)[:2]   # peewee's path, for all fields
