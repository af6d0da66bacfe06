"""The demo loader's satisfaction and follow-up data (appliance/demo_surveys.py): answered
CSAT surveys, NPS answers and follow-up visits both due and done, the same on every load."""
from __future__ import annotations

from pathlib import Path

from appliance import demo
from appliance.models import AgentStat, Comment, FollowUpVisit, Survey

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _load(settings, tmp_path, name):
    demo.load_demo(40, data_dir=DATA if DATA.is_dir() else None, settings=settings,
                   logins_path=tmp_path / name)


def test_the_demo_has_answered_surveys_nps_answers_and_visits_due_and_done(
        backend, settings, tmp_path):
    _load(settings, tmp_path, "logins.txt")
    answered = Survey.select().where((Survey.kind == "csat") & Survey.rating.is_null(False))
    assert answered.count() >= 5
    assert all(1 <= s.rating <= 5 and s.answered_at > s.created_at for s in answered)
    assert Survey.select().where((Survey.kind == "nps") & Survey.rating.is_null(False)).count() >= 3
    visits = list(FollowUpVisit.select())
    statuses = {(v.status, v.outcome) for v in visits}
    assert ("closed", "satisfied") in statuses and ("scheduled", "") in statuses
    assert any(v.attempts == 1 and v.status == "scheduled" for v in visits)   # retried
    calls = Comment.select().where((Comment.channel == "phone") & (Comment.internal == True)  # noqa: E712
                                   & Comment.body.startswith("Follow-up visit call"))
    assert calls.count() == 4
    assert AgentStat.select().where(AgentStat.csat_answers > 0).exists()
