"""The demo loader: a working organisation, bilingual tickets with real timelines, logins."""
from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path

import pytest

from appliance import demo
from appliance.errors import Conflict
from appliance.models import (Comment, Customer, Department, Ticket, TicketLink, TimelineEvent,
                              User, utcnow)
from appliance.services.users import authenticate

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def loaded(settings, tmp_path):
    if not DATA.is_dir():
        pytest.skip(f"labelled datasets not found at {DATA}")
    path = tmp_path / "logins.txt"
    logins = demo.load_demo(40, data_dir=DATA, settings=settings, logins_path=path)
    return logins, path


def test_demo_tickets_are_bilingual_with_conversations_and_mixed_statuses(loaded):
    tickets = list(Ticket.select())
    assert len(tickets) == 40
    chinese = [t for t in tickets if CJK.search(t.subject)]
    assert 0.35 < len(chinese) / len(tickets) < 0.85, "about 60% Chinese, 40% English"
    assert len({t.status for t in tickets}) >= 4
    kinds = {(c.author_kind, c.internal) for c in Comment.select()}
    assert {("agent", False), ("customer", False), ("agent", True)} <= kinds
    assert any(t.assignee_id for t in tickets) and any(t.assignee_id is None for t in tickets)


def test_demo_has_sub_tickets_a_merged_pair_and_related_links(loaded):
    assert TicketLink.select().where(TicketLink.kind == "parent").exists()
    assert TicketLink.select().where(TicketLink.kind == "related").exists()
    assert Ticket.select().where(Ticket.merged_into.is_null(False)).count() == 1


def test_demo_timelines_are_spread_over_the_last_ninety_days_in_order(loaded):
    now = utcnow()
    created = [t.created_at for t in Ticket.select()]
    assert min(created) < now - dt.timedelta(days=30) and max(created) < now
    for t in Ticket.select().where(Ticket.status == "closed"):
        assert t.created_at <= t.resolved_at <= t.closed_at <= now
        events = [e.created_at for e in TimelineEvent.select().where(TimelineEvent.ticket == t.id)
                  .order_by(TimelineEvent.id)]
        assert events == sorted(events) and events[0] == t.created_at


def test_demo_creates_staff_in_every_department_whose_logins_work(loaded):
    codes = {d.code: d.name_en for d in Department.select()}
    # PARK and SEC: the scenic-area example process's departments (appliance/demo_processes.py)
    assert set(codes) == {"CS", "AS", "LOG", "TECH", "FIN", "PARK", "SEC"} and all(codes.values())
    staff = list(User.select().where(User.role.in_(["agent", "supervisor"])))
    assert len(staff) >= 12 and {u.department_id for u in staff} == {d.id for d in Department.select()}
    assert Customer.select().count() >= 60
    logins, path = loaded
    assert {"agent", "supervisor", "customer"} <= {role for _, _, role in logins}
    for username, password, role in (logins[0], [x for x in logins if x[2] == "customer"][0]):
        assert authenticate(username, password).role == role
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert logins[0][1] in path.read_text(encoding="utf-8")


def test_demo_refuses_a_second_run(loaded, settings, tmp_path):
    with pytest.raises(Conflict):
        demo.load_demo(5, data_dir=DATA, settings=settings, logins_path=tmp_path / "again.txt")
    assert Ticket.select().count() == 40


def test_demo_falls_back_to_built_in_texts_without_the_datasets(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEFAULT_DATA_DIR", tmp_path / "absent")
    demo.load_demo(30, settings=settings, logins_path=tmp_path / "logins.txt")
    subjects = [t.subject for t in Ticket.select()]
    assert len(subjects) == 30
    assert any(CJK.search(s) for s in subjects) and any(not CJK.search(s) for s in subjects)


def test_the_demo_publishes_the_three_example_processes(loaded):
    from appliance.models import ProcessDefinition
    rows = {d.key: d.status for d in ProcessDefinition.select()}
    assert rows == {"after_sales_repair": "published", "refund_approval": "published",
                    "scenic_peak_complaint": "published"}


def test_the_demo_knowledge_base_has_translations_an_internal_article_and_recent_coverage(loaded):
    from appliance.models import Article, SynonymSet
    from appliance.rules.access import SYSTEM
    from appliance.services import knowledge_metrics
    published = list(Article.select().where(Article.status == "published"))
    assert {a.language for a in published} == {"zh", "en"} and len(published) == 11
    groups = {a.translation_group for a in published if a.visibility == "public"}
    assert len(groups) == 5  # five zh articles, each with its English translation
    assert [a.visibility for a in published if a.visibility == "internal"] == ["internal"]
    assert Article.select().where(Article.status == "in_review").count() == 1
    assert SynonymSet.select().count() == 2
    # Linked to recently resolved tickets: the metrics page opens on the last 30 days.
    coverage = knowledge_metrics.knowledge_metrics(SYSTEM, 30).coverage
    assert coverage.numerator > 0
