"""Articles drafted from resolved tickets, without the model: which tickets are worth
one, which drafts are discarded (empty, PII, echo), the Markdown, where a draft goes
(new, update proposal, joining an open draft), what the model is shown, and that the
job writes one draft per resolution. Pure rules run once; the service parts run on
SQLite and PostgreSQL, with a scripted TextModel (the model's answer is the input
under test here; tests/llm/test_knowledge_learning.py runs the real one)."""
from __future__ import annotations

import logging

import pytest

from appliance.models import Article, ArticleTicket, Job
from appliance.ports import ModelBusy, ModelInfo, ModelUnavailable
from appliance.rules import knowledge_drafts as R
from appliance.services import knowledge_indexing  # noqa: F401  (registers "index_article")
from appliance.services import (comments, knowledge, knowledge_learning, knowledge_review,
                                tickets, triage)
from tests.assist_fakes import run_jobs
from tests.factories import make_org, ticket


def facts(**kw) -> R.TicketFacts:
    base = dict(status="resolved", merged=False, tags=frozenset(), customer_chars=60,
                reply_chars=80, public_replies=1)
    return R.TicketFacts(**{**base, **kw})


GOOD = {"title": "打印机指示灯闪红灯无法打印", "problem": "打印机不能打印，指示灯闪红灯。",
        "cause": "打印机内部卡纸。", "solution": "打开前盖取出卡住的纸张后重新打印。",
        "steps": ["1. 关闭打印机电源", "2. 打开前盖，取出卡纸", "3. 重新开机并打印测试页"]}


def draft(**kw) -> R.Draft:
    return R.parse_draft({**GOOD, **kw})


# --- pure rules (no database) ------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite"], indirect=False)
class TestRules:
    def test_a_resolved_ticket_with_an_answer_is_worth_an_article(self, backend):
        assert R.skip_reason(facts()) is None
        assert R.skip_reason(facts(status="closed")) is None

    @pytest.mark.parametrize("change, reason", [
        ({"status": "open"}, "not_resolved"),
        ({"merged": True}, "merged"),
        ({"tags": frozenset({"Spam"})}, "spam"),
        ({"public_replies": 0, "reply_chars": 0}, "no_public_reply"),
        ({"reply_chars": 5}, "no_public_reply"),
        ({"customer_chars": 20, "reply_chars": 30}, "too_short"),
    ])
    def test_trivial_tickets_are_skipped_with_a_reason(self, backend, change, reason):
        assert R.skip_reason(facts(**change)) == reason

    def test_step_numbers_are_removed_and_the_body_has_the_four_headings(self, backend):
        d = draft()
        assert d.steps == ("关闭打印机电源", "打开前盖，取出卡纸", "重新开机并打印测试页")
        body = R.to_markdown(d, "zh")
        for heading in ("## 问题", "## 原因", "## 解决方案", "## 步骤"):
            assert heading in body
        assert "1. 关闭打印机电源" in body and "3. 重新开机并打印测试页" in body
        en = R.to_markdown(draft(), "en")
        assert "## Problem" in en and "## Steps" in en and "## 问题" not in en

    def test_model_text_cannot_start_markdown_structure(self, backend):
        body = R.to_markdown(draft(problem="# 标题注入 与 <script>x</script>"), "zh")
        assert "\n# " not in body and "\\# 标题注入" in body

    def test_a_good_draft_is_kept(self, backend):
        assert R.discard_reason(draft(), customer_text="打印机不能打印，指示灯闪红灯", personal=["张三"]) is None

    @pytest.mark.parametrize("change", [
        {"title": ""}, {"problem": " "}, {"solution": ""},
        {"title": "打印", "problem": "不能打印", "cause": "", "solution": "重启一下", "steps": []},
    ])
    def test_an_empty_draft_is_discarded(self, backend, change):
        assert R.discard_reason(draft(**change), customer_text="") == "empty"

    @pytest.mark.parametrize("change", [
        {"solution": "请拨打 138 1234 5678 联系维修人员上门取出卡纸。"},
        {"steps": ["发邮件到 zhangsan@example.com 预约维修"]},
        {"cause": "身份证 110101199003074514 的客户设备老化。"},
    ])
    def test_a_draft_with_pii_is_discarded(self, backend, change):
        assert R.discard_reason(draft(**change), customer_text="") == "pii"

    def test_a_draft_naming_the_customer_or_their_foreign_number_is_discarded(self, backend):
        named = draft(problem="张三的打印机不能打印，指示灯闪红灯。")
        assert R.discard_reason(named, customer_text="", personal=["张三"]) == "pii"
        us = draft(solution="Call +1 (415) 555-0134 and ask for a new cartridge today.")
        assert R.discard_reason(us, customer_text="", personal=["+14155550134"]) == "pii"
        en = draft(title="Printer error for Miller", problem="The printer does not print.")
        assert R.discard_reason(en, customer_text="", personal=["John Miller"]) == "pii"

    def test_a_short_name_part_does_not_match_inside_other_words(self, backend):
        assert not R.mentions("Click Link in the list", ["Li Wei"])
        assert R.mentions("Dear Li Wei,", ["Li Wei"])

    def test_a_draft_that_only_repeats_the_customer_is_discarded(self, backend):
        customer = "打印机从今天早上开始不能打印，指示灯一直闪红灯，电脑上显示打印任务排队中。"
        echo = draft(problem=customer, cause="打印机从今天早上开始不能打印",
                     solution="指示灯一直闪红灯，电脑上显示打印任务排队中。",
                     steps=["打印机从今天早上开始不能打印"])
        assert R.discard_reason(echo, customer_text=customer) == "echo"
        assert R.discard_reason(draft(problem=customer), customer_text=customer) is None

    def test_the_closest_published_article_gets_an_update_proposal(self, backend):
        cands = [R.Candidate(1, "published", 0.3), R.Candidate(2, "published", 0.5)]
        assert R.place(cands) == R.Placement("update", 2, 0.5)

    def test_below_the_threshold_or_archived_articles_mean_a_new_article(self, backend):
        assert R.place([R.Candidate(1, "published", 0.1)]).kind == "new"
        assert R.place([R.Candidate(1, "archived", 0.9), R.Candidate(2, "rejected", 0.9)]).kind == "new"
        assert R.place([]).kind == "new"

    def test_an_open_draft_or_proposal_on_the_same_problem_is_joined(self, backend):
        assert R.place([R.Candidate(3, "in_review", 0.6)]) == R.Placement("join", 3, 0.6)
        assert R.place([R.Candidate(4, "published", 0.6, open_proposal_id=9)]) == \
            R.Placement("join", 9, 0.6)

    def test_similarity_separates_the_same_problem_from_a_different_one(self, backend):
        art = ("打印机无法打印怎么办\n## 问题\n打印机无法打印，打印任务一直排队。\n"
               "## 解决方案\n关机一分钟后重启打印机，清除打印队列，重新安装驱动。")
        same = "打印机无法打印，指示灯闪红灯\n打印机不能打印，指示灯一直闪红灯，打印任务排队中。"
        other = "订单发货慢\n客户下单后一周还没有发货。"
        assert R.similarity(same, art) >= R.SAME_PROBLEM > R.similarity(other, art)
        en = "Printer will not print\nRestart the printer and clear the print queue."
        assert R.similarity("Printer not printing\nJobs stay in the queue.", en) >= R.SAME_PROBLEM
        assert R.similarity("Cannot log in\nThe app says the password is wrong.", en) < R.SAME_PROBLEM

    def test_the_model_never_reads_the_customers_name_address_or_number(self, backend):
        text = ("Hi, John Miller here (Mr. Miller), call +1 (415) 555-0134 or 415-555-0134, "
                "mail john.miller@example.com; 张三 电话 138 1234 5678. Order 14155550134999.")
        out = knowledge_learning.scrub(text, ["john.miller@example.com", "John Miller",
                                              "+14155550134", "张三"])
        for value in ("Miller", "555-0134", "(415)", "example.com", "张三", "1234"):
            assert value not in out, value
        assert "14155550134999" in out  # a longer number is not the customer's phone

    def test_an_update_keeps_the_article_and_adds_only_what_is_new(self, backend):
        existing = "## 解决方案\n\n关机一分钟后重启打印机，清除打印队列。\n"
        d = draft(steps=["关机一分钟后重启打印机", "打开前盖，取出卡住的纸张"])
        merged = R.merge_update(existing, d, "zh")
        assert merged.startswith(existing.rstrip())
        assert "## 补充（来自已解决的工单）" in merged and "取出卡住的纸张" in merged
        assert merged.count("关机一分钟后重启打印机") == 1
        same = R.Draft("重启打印机", "不能打印", "", "关机一分钟后重启打印机，清除打印队列。",
                       ("关机一分钟后重启打印机",))
        assert R.merge_update(existing, same, "zh") is None


# --- the service, on both databases -----------------------------------------------------------

class JsonModel:
    """A TextModel answering complete_json with a scripted dict (or raising)."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def info(self) -> ModelInfo:
        return ModelInfo("scripted", "0" * 64, "/dev/null", available=True)

    def complete_json(self, system, user, schema, **kw):
        self.calls.append({"system": system, "user": user, **kw})
        if self.error:
            raise self.error("scripted")
        return dict(self.answer)

    def stream(self, *a, **kw):  # pragma: no cover - not used here
        raise AssertionError("article drafts ask for JSON")


@pytest.fixture
def org(settings, monkeypatch):
    monkeypatch.setattr(triage, "_llm_here", True)
    return make_org()


def resolved(settings, org, *, subject="打印机不能打印，指示灯闪红灯",
             description="我们办公室的打印机从今天早上开始不能打印，指示灯一直闪红灯。我是张三，电话 13812345678。",
             answer="红灯闪烁一般是卡纸。请打开前盖，取出卡住的纸张，再检查后部进纸口有没有纸屑。",
             customer_reply="找到一张卡住的纸，取出来后可以打印了，谢谢！"):
    """A ticket of the portal customer 张三 (zhangsan@example.com, 13812345678), answered
    in public by 王芳, with an internal note and the customer's thanks, then resolved."""
    cid = org.customer.customer_id
    from appliance.services import contacts
    if not contacts.exists("phone", "13812345678"):
        contacts.add(cid, "phone", "13812345678")
    tid = ticket(settings, org.agent, subject, description=description, department_id=org.after_sales,
                 customer_id=cid, assignee_id=org.agent.user_id).summary.id
    comments.add_comment(org.agent, tid, answer, settings)
    comments.add_comment(org.agent, tid, "内部备注：客户账号 zhangsan 已核实。", settings, internal=True)
    if customer_reply:
        comments.add_comment(org.customer, tid, customer_reply, settings)
    tickets.transition_ticket(org.agent, tid, "resolved", settings)
    return tid


def drafts_from(ticket_id):
    return list(Article.select().join(ArticleTicket, on=(ArticleTicket.article == Article.id))
                .where((ArticleTicket.ticket == ticket_id) & (ArticleTicket.kind == "source")))


def test_resolving_a_ticket_schedules_one_draft_job_unless_turned_off(settings, org):
    from tests.conftest import with_settings
    tid = resolved(settings, org)
    assert Job.select().where((Job.name == "draft_article") & (Job.object_id == tid)).count() == 1
    off = with_settings(settings, kb_drafts=False)
    t2 = ticket(off, org.agent, "另一个问题", department_id=org.after_sales).summary.id
    tickets.transition_ticket(org.agent, t2, "resolved", off)
    assert not Job.select().where((Job.name == "draft_article") & (Job.object_id == t2)).exists()


def test_the_job_writes_one_reviewable_ai_draft_with_its_source(settings, org, use_model):
    model = use_model(JsonModel(GOOD))
    tid = resolved(settings, org)
    run_jobs("draft_article")
    run_jobs("draft_article")  # nothing left; and once more by hand:
    knowledge_learning.draft_article(tid)
    [a] = drafts_from(tid)
    assert (a.status, a.ai_generated, a.visibility, a.update_of_id) == ("in_review", True, "internal", None)
    assert a.owner_id == org.agent.user_id and a.language == "zh" and "## 解决方案" in a.body
    [v1] = [v for v in knowledge_review.versions(org.supervisor, a.id) if v.version == 1]
    assert v1.note.startswith("AI draft (scripted, kb-draft-1) from ticket ")
    assert len(model.calls) == 1
    prompt = model.calls[0]["user"]
    # What the model reads: masked, without the customer's name, nor internal notes.
    assert "13812345678" not in prompt and "张三" not in prompt and "〔phone〕" in prompt
    assert "内部备注" not in prompt and "取出卡住的纸张" in prompt
    assert model.calls[0]["interactive"] is False
    queue = knowledge_review.review_queue(org.supervisor)
    assert [(q.article.id, [r.id for r in q.sources]) for q in queue] == [(a.id, [tid])]


def test_a_reopened_ticket_gets_no_second_draft_while_one_is_open(settings, org, use_model):
    use_model(JsonModel(GOOD))
    tid = resolved(settings, org)
    run_jobs("draft_article")
    tickets.transition_ticket(org.agent, tid, "open", settings)
    tickets.transition_ticket(org.agent, tid, "resolved", settings)
    run_jobs("draft_article")
    assert len(drafts_from(tid)) == 1
    [a] = drafts_from(tid)
    knowledge_review.transition(org.supervisor, a.id, "reject", reason="太具体")
    knowledge_learning.draft_article(tid)  # the same resolution again: still one
    assert len(drafts_from(tid)) == 1
    tickets.transition_ticket(org.agent, tid, "open", settings)
    tickets.transition_ticket(org.agent, tid, "resolved", settings)
    run_jobs("draft_article")  # a new resolution, nothing open: a new draft
    assert len(drafts_from(tid)) == 2
    assert Article.get_by_id(a.id).reject_reason == "太具体"


@pytest.mark.parametrize("answer, reason", [
    ({**GOOD, "solution": "请拨打 13812345678 联系我们。"}, "pii"),
    ({**GOOD, "title": "", "problem": "", "solution": ""}, "empty"),
    ({**GOOD, "problem": "张三的打印机不能打印。"}, "pii"),
])
def test_a_bad_draft_is_discarded_and_logged_without_its_text(settings, org, use_model, caplog,
                                                              answer, reason):
    use_model(JsonModel(answer))
    tid = resolved(settings, org)
    with caplog.at_level(logging.INFO, logger="appliance.services.knowledge_learning"):
        run_jobs("draft_article")
    assert drafts_from(tid) == [] and not Article.select().exists()
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("knowledge_learning")]
    assert lines == [f"kb draft for ticket {tid} discarded: {reason}"]


def test_model_busy_leaves_the_job_for_a_retry_and_unavailable_skips(settings, org, use_model, caplog):
    use_model(JsonModel(error=ModelBusy))
    tid = resolved(settings, org)
    with pytest.raises(ModelBusy):
        knowledge_learning.draft_article(tid)
    use_model(JsonModel(error=ModelUnavailable))
    with caplog.at_level(logging.INFO, logger="appliance.services.knowledge_learning"):
        knowledge_learning.draft_article(tid)
    assert drafts_from(tid) == []
    assert f"kb draft for ticket {tid} discarded: unavailable" in caplog.text


def test_a_ticket_without_a_public_answer_is_not_sent_to_the_model(settings, org, use_model):
    model = use_model(JsonModel(GOOD))
    t = ticket(settings, org.agent, "打印机不能打印", description="打印机不能打印，指示灯闪红灯，怎么办？",
               department_id=org.after_sales)
    comments.add_comment(org.agent, t.summary.id, "已电话联系客户处理。", settings, internal=True)
    tickets.transition_ticket(org.agent, t.summary.id, "resolved", settings)
    run_jobs("draft_article")
    assert model.calls == [] and drafts_from(t.summary.id) == []


def test_a_draft_on_a_published_articles_problem_becomes_an_update_proposal(settings, org, use_model):
    a = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "打印机指示灯闪红灯不能打印", "## 问题\n\n打印机不能打印，指示灯闪红灯。\n\n## 解决方案\n\n"
        "关机一分钟后重启打印机，清除打印队列。\n", "zh", "public"))
    knowledge.publish_article(org.supervisor, a.id)
    run_jobs("index_article")
    use_model(JsonModel(GOOD))
    tid = resolved(settings, org)
    run_jobs("draft_article")
    [p] = drafts_from(tid)
    assert p.update_of_id == a.id and p.status == "in_review" and p.ai_generated
    assert p.title == "打印机指示灯闪红灯不能打印" and "取出卡纸" in p.body
    assert p.body.startswith("## 问题")  # the article's own text comes first
    # A second ticket on the same problem joins the open proposal instead of a second one.
    t2 = resolved(settings, org)
    run_jobs("draft_article")
    assert [x.id for x in drafts_from(t2)] == [p.id]
    merged = knowledge_review.merge_proposal(org.supervisor, p.id)
    assert merged.id == a.id and merged.version > 2 and "取出卡纸" in merged.body
    assert Article.get_by_id(p.id).status == "merged"
    assert {r.id for r in knowledge_review.source_tickets(org.supervisor, a.id)} == {tid, t2}


def test_a_ticket_an_article_already_answers_is_linked_to_it_instead_of_drafted(
        settings, org, use_model):
    a = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "打印机指示灯闪红灯无法打印", "## 问题\n\n打印机不能打印，指示灯闪红灯。\n\n## 原因\n\n打印机内部卡纸。\n\n"
        "## 解决方案\n\n打开前盖取出卡住的纸张后重新打印。\n\n## 步骤\n\n1. 关闭打印机电源\n"
        "2. 打开前盖，取出卡纸\n3. 重新开机并打印测试页\n", "zh", "public"))
    knowledge.publish_article(org.supervisor, a.id)
    run_jobs("index_article")
    use_model(JsonModel(GOOD))
    tid = resolved(settings, org)
    run_jobs("draft_article")
    assert drafts_from(tid) == [] and Article.select().count() == 1
    links = [(x.article_id, x.kind) for x in ArticleTicket.select().where(ArticleTicket.ticket == tid)]
    assert links == [(a.id, "related")]  # coverage counts it
    knowledge_learning.draft_article(tid)  # once more: nothing new
    assert ArticleTicket.select().where(ArticleTicket.ticket == tid).count() == 1
