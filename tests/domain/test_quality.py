"""Quality inspection on SQLite and PostgreSQL: replies scored by the jobs (rules at once,
the rubric from a model that answers, times out or is off), idempotence per comment and
rule-set version, waiting time in business hours, who sees what, adjustments with their
history, appeals once, the sampling queue, the weekly summary and the settings."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from appliance import jobs
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.models import (AuditRecord, Comment, Job, QualityAdjustment, QualityInspection,
                              utcnow)
from appliance.ports import ModelInfo, ModelTimeout
from appliance.rules.access import SYSTEM
from appliance.services import (comments, quality, quality_config, quality_report,
                                quality_review, tickets, triage)
from tests.factories import make_org

GOOD = "您好，请在设置里重新安装打印机驱动，然后重启电脑即可。祝您工作顺利！"
BAD = "你自己看说明书。我们保证明天全额退款。"
ID = "11010519491231002X"


class JsonModel:
    """A TextModel port that answers complete_json with a scripted reply or error."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def info(self):
        return ModelInfo("json-fake", "0" * 64, "/dev/null", available=True)

    def complete_json(self, system, user, schema, **kw):
        self.calls.append({"system": system, "user": user, "schema": schema, **kw})
        if self.error is not None:
            raise self.error("scripted")
        return self.answer

    def stream(self, *a, **kw):
        raise AssertionError("the rubric never streams")


def rubric(e, c, r):
    return {"empathy": {"reason": "polite", "score": e},
            "correctness": {"reason": "matches the article", "score": c},
            "resolution": {"reason": "says what to do", "score": r}}


@pytest.fixture
def org(settings):
    return make_org()


def new_ticket(s, o, subject="打印机无法打印", department=None, assignee=None):
    data = tickets.TicketInput(subject=subject, description="打印机一直显示脱机",
                               department_id=department or o.after_sales,
                               customer_id=o.customer.customer_id,
                               assignee_id=assignee or o.agent.user_id)
    return tickets.create_ticket(SYSTEM, data, s).summary.id


def reply(s, who, ticket_id, text=GOOD, internal=False) -> int:
    return comments.add_comment(who, ticket_id, text, s, internal=internal).id


def run(name) -> None:
    for j in list(Job.select(Job.id).where((Job.name == name) & Job.done_at.is_null())
                  .order_by(Job.id)):
        try:
            jobs.run_job(j.id)
        except quality.RubricRetry:
            pass


def scored(s, o, text=GOOD, who=None, ticket_id=None) -> QualityInspection:
    ticket_id = ticket_id or new_ticket(s, o)
    cid = reply(s, who or o.agent, ticket_id, text)
    run(quality.SCORE_JOB)
    run(quality.RUBRIC_JOB)
    return QualityInspection.get(QualityInspection.comment == cid)


# --- scoring -------------------------------------------------------------------------------

def test_an_agents_public_reply_is_scored_by_rules_and_the_rubric_is_off_without_a_worker(
        settings, org):
    ins = scored(settings, org)
    assert [f["key"] for f in ins.findings] == list(quality.quality_rules.RULE_KEYS)
    assert all(f["passed"] for f in ins.findings) and ins.rule_points == 85
    assert ins.score == 100.0 and not ins.complete         # rules only, scaled to 100
    assert ins.rubric_state == "off" and "worker" in ins.rubric_error
    assert ins.agent_id == org.agent.user_id and ins.department_id == org.after_sales


def test_notes_and_customer_replies_are_not_inspected(settings, org):
    t = new_ticket(settings, org)
    reply(settings, org.agent, t, "内部备注", internal=True)
    reply(settings, org.customer, t, "还是不行")
    run(quality.SCORE_JOB)
    assert QualityInspection.select().count() == 0


def test_the_score_job_is_idempotent_per_comment_and_ruleset_version(settings, org):
    ins = scored(settings, org, BAD)
    assert quality.score_comment(ins.comment_id) == ins.id
    assert QualityInspection.select().count() == 1
    failed = {f["key"] for f in ins.findings if not f["passed"]}
    assert failed == {"forbidden_words", "forbidden_promises", "greeting", "closing"}
    data = quality_config.current().data
    quality_config.save(org.admin, {**data, "forbidden_words": []})
    again = quality.score_comment(ins.comment_id)
    assert again != ins.id and QualityInspection.select().count() == 2
    assert QualityInspection.get_by_id(again).ruleset_version == 1


def test_a_disclosed_id_number_is_stored_masked_only(settings, org):
    ins = scored(settings, org, f"您好，您登记的身份证是{ID}。谢谢")
    f = next(f for f in ins.findings if f["key"] == "pii_disclosure")
    assert not f["passed"] and f["evidence"] == "110105**********2X"
    stored = QualityInspection.select(QualityInspection.findings).where(
        QualityInspection.id == ins.id).tuples().first()[0]
    assert ID not in json.dumps(stored, ensure_ascii=False)


def test_the_rubric_from_the_model_completes_the_total(settings, org, use_model, monkeypatch):
    monkeypatch.setattr(triage, "_llm_here", True)
    model = use_model(JsonModel(rubric(5, 4, 3)))
    ins = scored(settings, org, f"您好，卡号 6222021234567894 已登记。谢谢")
    assert ins.rubric_state == "done" and ins.complete and ins.rubric_model == "json-fake"
    assert ins.rubric["correctness"] == {"score": 4, "reason": "matches the article"}
    # rules 65 of 85 (the card number), rubric 5 + 3.75 + 2.5
    assert ins.score == 76.2 and ins.prompt_version == quality.pq.RUBRIC_VERSION
    prompt = model.calls[0]
    assert "6222021234567894" not in prompt["user"] and "打印机一直显示脱机" in prompt["user"]
    assert prompt["interactive"] is False and prompt["timeout_s"] <= quality.RUBRIC_TIMEOUT_S


def test_a_timeout_keeps_the_rule_scores_marks_the_rubric_failed_and_is_retried(
        settings, org, use_model, monkeypatch):
    monkeypatch.setattr(triage, "_llm_here", True)
    use_model(JsonModel(error=ModelTimeout))
    ins = scored(settings, org)
    assert ins.rubric_state == "failed" and ins.rubric_error == "the model did not answer in time"
    assert ins.rubric_tries == 1 and ins.rule_points == 85 and not ins.complete
    job = Job.get((Job.name == quality.RUBRIC_JOB) & (Job.object_id == ins.id))
    assert job.done_at is None and "RubricRetry" in job.last_error   # the sweeper retries it
    with pytest.raises(quality.RubricRetry):
        jobs.run_job(job.id)
    assert quality.score_rubric(ins.id) == "failed"                  # third try: gives up
    assert QualityInspection.get_by_id(ins.id).rubric_tries == quality.RUBRIC_TRIES
    assert quality.score_rubric(ins.id) == "failed"                  # and stays so


def test_an_invalid_rubric_is_asked_twice_then_failed(settings, org, use_model, monkeypatch):
    monkeypatch.setattr(triage, "_llm_here", True)
    model = use_model(JsonModel({"empathy": {"reason": "x", "score": 9}}))
    ins = scored(settings, org)
    assert len(model.calls) == 2 and ins.rubric_state == "failed"
    assert ins.rubric_error == "the model's answer was not a valid rubric"


def test_waiting_time_counts_business_hours_of_the_department_calendar(settings, org):
    from appliance.services import sla_config
    days = {d: [["09:00", "18:00"]] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                "friday")}
    sla_config.save_calendar(org.admin, None, {"name": "售后", "department_id": org.after_sales,
                                               "time_zone": "Asia/Shanghai", "week": days,
                                               "chinese_holidays": False})
    t = new_ticket(settings, org)
    asked = reply(settings, org.customer, t, "还是不行")
    answered = reply(settings, org.agent, t, GOOD)
    friday = dt.datetime(2026, 11, 20, 9, 50)          # 17:50 in Shanghai, a Friday
    monday = dt.datetime(2026, 11, 23, 1, 10)          # 09:10 on Monday
    Comment.update(created_at=friday).where(Comment.id == asked).execute()
    Comment.update(created_at=monday).where(Comment.id == answered).execute()
    c, tk = Comment.get_by_id(answered), tickets.Ticket.get_by_id(t)
    assert quality.waiting_time(c, tk, business=True) == dt.timedelta(minutes=20)
    assert quality.waiting_time(c, tk, business=False) == monday - friday
    second = Comment.get_by_id(reply(settings, org.agent, t, "补充一句"))
    assert quality.waiting_time(second, tk, business=True) is None


# --- who sees what ---------------------------------------------------------------------------

def test_agents_see_their_own_inspections_supervisors_their_department(settings, org):
    ins = scored(settings, org)
    assert quality_review.get_inspection(org.agent, ins.id).can_appeal
    view = quality_review.get_inspection(org.supervisor, ins.id)
    assert view.can_review and not view.can_appeal and view.reply == GOOD
    assert quality_review.get_inspection(org.admin, ins.id).can_review
    for outsider in (org.agent2, org.customer):
        with pytest.raises(NotFound):
            quality_review.get_inspection(outsider, ins.id)
    with pytest.raises(NotFound):
        quality_review.get_inspection(org.agent, "nope")
    assert [v.id for v in quality_review.my_inspections(org.agent)] == [ins.id]
    assert quality_review.my_inspections(org.agent2) == []


# --- adjustments and appeals --------------------------------------------------------------------

def test_an_adjustment_needs_a_comment_keeps_the_original_and_its_history(settings, org):
    ins = scored(settings, org, BAD)
    with pytest.raises(ValidationError) as e:
        quality_review.adjust(org.supervisor, ins.id, {"greeting": 5}, "  ")
    assert e.value.fields == {"comment": "required"}
    with pytest.raises(ValidationError) as e:
        quality_review.adjust(org.supervisor, ins.id, {"greeting": 19, "bogus": 1, "empathy": 2.5},
                              "看过")
    assert set(e.value.fields) == {"changes.greeting", "changes.bogus", "changes.empathy"}
    with pytest.raises(PermissionDenied):
        quality_review.adjust(org.agent, ins.id, {"greeting": 5}, "我自己改")
    view = quality_review.adjust(org.supervisor, ins.id, {"greeting": 5, "closing": 5},
                                 "开头有问候，只是写在第二句", expected_version=ins.version)
    assert view.score == ins.score and view.adjusted == {"greeting": 5.0, "closing": 5.0}
    assert view.adjusted_score == round((ins.rule_points + 10) * 100 / 85, 1)
    assert [(h.item, h.before, h.after) for h in view.history] == [("greeting", 0.0, 5.0),
                                                                   ("closing", 0.0, 5.0)]
    assert view.history[0].actor == "陈主管" and view.reviewed_at is not None
    with pytest.raises(Conflict):
        quality_review.adjust(org.supervisor, ins.id, {}, "再看", expected_version=ins.version)
    assert AuditRecord.select().where((AuditRecord.action == "quality.adjusted")
                                      & (AuditRecord.object_id == str(ins.id))).count() == 1
    assert QualityInspection.get_by_id(ins.id).findings == ins.findings


def test_an_agent_appeals_once_and_the_supervisor_decides(settings, org):
    ins = scored(settings, org, BAD)
    with pytest.raises(ValidationError) as e:
        quality_review.appeal(org.agent, ins.id, "")
    assert e.value.fields == {"reason": "required"}
    with pytest.raises(NotFound):
        quality_review.appeal(org.agent2, ins.id, "不是我的")
    view = quality_review.appeal(org.agent, ins.id, "客户要求我直接说明")
    assert view.appeal_state == "open" and not view.can_appeal
    with pytest.raises(quality_review.AppealClosed) as e:
        quality_review.appeal(org.agent, ins.id, "再申诉一次")
    assert "appeal" in e.value.fields and e.value.http_status == 409
    with pytest.raises(ValidationError) as e:
        quality_review.resolve_appeal(org.supervisor, ins.id, "maybe", "嗯")
    assert set(e.value.fields) == {"outcome"}
    with pytest.raises(ValidationError) as e:
        quality_review.resolve_appeal(org.supervisor, ins.id, "rejected", "不成立", {"greeting": 5})
    assert set(e.value.fields) == {"changes"}
    view = quality_review.resolve_appeal(org.supervisor, ins.id, "upheld", "申诉成立",
                                         {"forbidden_words": 10})
    assert view.appeal_state == "upheld" and view.appeal_comment == "申诉成立"
    assert view.adjusted_score > view.score
    assert [h.kind for h in view.history] == ["appeal", "upheld"]
    with pytest.raises(quality_review.AppealClosed) as e:
        quality_review.resolve_appeal(org.supervisor, ins.id, "rejected", "改主意")
    assert "outcome" in e.value.fields
    actions = {r.action for r in AuditRecord.select().where(AuditRecord.object_id == str(ins.id))}
    assert {"quality.appealed", "quality.appeal_resolved"} <= actions


def test_nobody_reviews_their_own_reply(settings, org):
    t = new_ticket(settings, org, assignee=org.supervisor.user_id)
    ins = scored(settings, org, GOOD, who=org.supervisor, ticket_id=t)
    with pytest.raises(PermissionDenied):
        quality_review.adjust(org.supervisor, ins.id, {}, "自己看自己")
    assert quality_review.get_inspection(org.admin, ins.id).can_review


# --- the queue and the summary ----------------------------------------------------------------

def _settings_with(o, **sampling):
    data = quality_config.current().data
    return quality_config.save(o.admin, {**data, **sampling})


def test_the_queue_holds_random_draws_the_lowest_n_and_open_appeals(settings, org):
    _settings_with(org, sampling={"rate": 0, "lowest": 2})
    good = [scored(settings, org, GOOD) for _ in range(3)]
    bad = scored(settings, org, BAD)
    worse = scored(settings, org, BAD + f" 身份证{ID}")
    other = scored(settings, org, BAD, who=org.agent2,
                   ticket_id=new_ticket(settings, org, department=org.logistics,
                                        assignee=org.agent2.user_id))
    quality_review.appeal(org.agent, good[0].id, "我觉得评分不对")
    queue = quality_review.sampling_queue(org.supervisor)
    assert [(q.id, q.why) for q in queue] == [(good[0].id, ("appeal",)),
                                              (worse.id, ("lowest",)), (bad.id, ("lowest",))]
    assert other.id in {q.id for q in quality_review.sampling_queue(org.admin)}
    _settings_with(org, sampling={"rate": 1, "lowest": 0})
    drawn = scored(settings, org, GOOD)
    assert drawn.sampled and drawn.id in {q.id for q in quality_review.sampling_queue(org.supervisor)}
    assert quality_review.sampling_queue(org.supervisor, day=dt.date(2020, 1, 1)) == [
        q for q in quality_review.sampling_queue(org.supervisor) if "appeal" in q.why]
    with pytest.raises(PermissionDenied):
        quality_review.sampling_queue(org.agent)
    with pytest.raises(NotFound):
        quality_review.sampling_queue(org.supervisor, department_id=org.logistics)


def test_the_summary_gives_weekly_averages_per_agent_in_scope(settings, org):
    a = scored(settings, org, GOOD)
    b = scored(settings, org, BAD)
    c = scored(settings, org, BAD, who=org.agent2,
               ticket_id=new_ticket(settings, org, department=org.logistics,
                                    assignee=org.agent2.user_id))
    last_week = utcnow() - dt.timedelta(days=7)
    QualityInspection.update(replied_at=last_week).where(QualityInspection.id == a.id).execute()
    quality_review.adjust(org.supervisor, b.id, {"closing": 5}, "结尾其实有")
    b = QualityInspection.get_by_id(b.id)
    mine = quality_report.quality_summary(org.agent)
    assert [(w.agent, w.inspections, w.average) for w in mine.weeks] == [
        ("王芳", 1, a.score), ("王芳", 1, b.adjusted_score)]
    assert mine.weeks[0].week.weekday() == 0 and mine.weeks[0].week < mine.weeks[1].week
    assert mine.agents[0].average == round((a.score + b.adjusted_score) / 2, 1)
    with pytest.raises(NotFound):
        quality_report.quality_summary(org.agent, agent_id=org.agent2.user_id)
    lead = quality_report.quality_summary(org.supervisor)
    assert {w.agent_id for w in lead.weeks} == {org.agent.user_id}
    everyone = quality_report.quality_summary(org.admin, department_id=org.logistics)
    assert [(w.agent_id, w.average) for w in everyone.weeks] == [(org.agent2.user_id, c.score)]
    with pytest.raises(ValidationError) as e:
        quality_report.quality_summary(org.admin, "31.12.2026")
    assert set(e.value.fields) == {"date_from"}
    with pytest.raises(ValidationError) as e:
        quality_report.quality_summary(org.admin, "2026-02-01", "2026-01-01")
    assert set(e.value.fields) == {"date_to"}


# --- settings ------------------------------------------------------------------------------------

def test_only_administrators_save_settings_and_every_bad_field_is_named(settings, org):
    data = quality_config.current().data
    assert quality_config.current().version == 0
    with pytest.raises(PermissionDenied):
        quality_config.save(org.supervisor, data)
    with pytest.raises(ValidationError) as e:
        quality_config.save(org.admin, {**data, "forbidden_patterns": ["(a|a)*b"],
                                        "weights": {**data["weights"], "empathy": 0}})
    assert set(e.value.fields) == {"forbidden_patterns", "weights"}
    assert quality_config.current().version == 0        # nothing half-written
    saved = quality_config.save(org.admin, {**data, "response_minutes": 30}, expected_version=0)
    assert saved.version == 1 and quality_config.current().settings.rules.response_minutes == 30
    with pytest.raises(Conflict):
        quality_config.save(org.admin, data, expected_version=0)
    assert AuditRecord.select().where(AuditRecord.action == "quality.settings_saved").count() == 1
    assert QualityAdjustment.select().count() == 0


def test_an_agents_list_costs_the_same_few_queries_at_any_length(settings, org, queries):
    for _ in range(4):
        scored(settings, org)
    queries.clear()
    assert len(quality_review.my_inspections(org.agent)) == 4
    four = len(queries)
    scored(settings, org)
    queries.clear()
    assert len(quality_review.my_inspections(org.agent)) == 5
    assert len(queries) == four <= 3


def test_rubrics_left_off_are_scored_once_the_model_may_run(settings, org, use_model,
                                                            monkeypatch):
    ins = scored(settings, org)
    assert ins.rubric_state == "off"
    monkeypatch.setattr(triage, "_llm_here", True)
    use_model(JsonModel(rubric(4, 4, 4)))
    assert quality.rescore_pending() == 1
    run(quality.RUBRIC_JOB)
    again = QualityInspection.get_by_id(ins.id)
    assert again.rubric_state == "done" and again.complete and again.score == 96.2
