"""Articles drafted from resolved tickets by the real default model (services/
knowledge_learning): resolve → job → AI draft in the review queue with its source
ticket → a reviewer edits and approves → published; and a ticket about a published
article's problem → update proposal → merged into a new version of that article.
On SQLite and PostgreSQL. 15-40 s a draft (one JSON completion each, on one llama.cpp
thread as in the shared fixture: two threads slowed down 4x on a busy 2-core box).

The discard rules (empty, PII, echo) are tested on crafted outputs in
tests/domain/test_knowledge_learning_rules.py; here every draft must survive them."""
from __future__ import annotations

import re

import pytest

from appliance import runtime
from appliance.models import Article, ArticleTicket
from appliance.rules.pii import mask_pii
from appliance.services import knowledge_indexing  # noqa: F401  (registers "index_article")
from appliance.services import (comments, customers, knowledge, knowledge_learning,
                                knowledge_review, tickets, triage)
from tests.assist_fakes import run_jobs
from tests.conftest import with_settings
from tests.factories import actor, make_org, ticket


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def draft_model(llm_model_dir):
    """The real model with the context the prompt is budgeted for (the shared fixture
    loads 1,024 tokens, which would shrink the ticket to a third)."""
    from local_llm import registry
    from local_llm.runtime import LlamaTextModel
    model = LlamaTextModel(str(llm_model_dir), registry.DEFAULT.entry.name, threads=1,
                           context=2048, timeout_s=120, concurrency=1)
    info = model.warm()
    assert info.available, info.reason
    return model


@pytest.fixture
def org(settings, monkeypatch, use_model, draft_model):
    monkeypatch.setattr(triage, "_llm_here", True)
    # The box is shared with other test runs: a generation may take several times its
    # usual 15 s; the job's deadline is llm_timeout_seconds.
    runtime.configure(with_settings(settings, llm_timeout_seconds=300))
    use_model(draft_model)
    return make_org()


def _resolve(settings, org, customer, subject, description, turns):
    tid = ticket(settings, org.agent, subject, description=description,
                 department_id=org.after_sales, customer_id=customer.customer_id,
                 assignee_id=org.agent.user_id).summary.id
    for who, text in turns:
        comments.add_comment(org.agent if who == "agent" else customer, tid, text, settings)
    tickets.transition_ticket(org.agent, tid, "resolved", settings)
    return tid


def printer_ticket(settings, org):
    return _resolve(settings, org, org.customer, "打印机无法打印，指示灯闪红灯",
                    "我们办公室的惠普打印机从今天早上开始不能打印，指示灯一直闪红灯，电脑上显示打印任务排队中。"
                    "我是张三，电话 13812345678。",
                    [("agent", "您好，请先关闭打印机电源等待一分钟后重新开机，然后在电脑上打开“设备和打印机”，"
                               "清除打印队列中的所有任务。"),
                     ("customer", "重启后还是闪红灯。"),
                     ("agent", "红灯闪烁一般是卡纸。请打开前盖，取出卡住的纸张，再检查后部进纸口有没有纸屑。"),
                     ("customer", "找到一张卡住的纸，取出来后可以打印了，谢谢！")])


def source_drafts(ticket_id):
    return list(Article.select().join(ArticleTicket, on=(ArticleTicket.article == Article.id))
                .where((ArticleTicket.ticket == ticket_id) & (ArticleTicket.kind == "source")))


def save(output_dir, name, a):
    """The draft as the reviewer gets it, kept as a test artifact."""
    (output_dir / f"kb_draft_{name}.md").write_text(f"# {a.title}\n\n{a.body}", encoding="utf-8")


def assert_clean(text, *personal):
    assert mask_pii(text) == text, "the draft holds PII"
    for value in personal:
        assert value.lower() not in text.lower(), value


def test_a_resolved_chinese_ticket_becomes_a_reviewed_and_published_article(settings, org,
                                                                           output_dir, backend):
    tid = printer_ticket(settings, org)
    run_jobs("draft_article")
    [a] = source_drafts(tid)
    save(output_dir, f"zh_{backend}", a)
    assert (a.status, a.ai_generated, a.language, a.visibility) == ("in_review", True, "zh", "internal")
    assert a.update_of_id is None and a.owner_id == org.agent.user_id
    assert "## 问题" in a.body and "## 解决方案" in a.body and re.search(r"[\u4e00-\u9fff]", a.title)
    assert "卡纸" in a.body or "纸" in a.body  # the answer that solved it is in the article
    assert_clean(a.title + a.body, "张三", "13812345678", "王芳")
    queue = knowledge_review.review_queue(org.supervisor)
    [item] = [q for q in queue if q.article.id == a.id]
    assert item.can_review and [r.id for r in item.sources] == [tid] and item.article.ai_generated

    edited = knowledge.update_article(org.supervisor, a.id, knowledge.ArticleInput(
        "打印机指示灯闪红灯：检查卡纸", a.body + "\n审核人补充：仍无法打印请联系售后。\n", "zh",
        "public"), expected_version=a.version, note="reviewed")
    published = knowledge_review.transition(org.supervisor, a.id, "approve",
                                            expected_version=edited.version)
    assert published.status == "published" and published.visibility == "public"
    assert published.ai_generated and published.title == "打印机指示灯闪红灯：检查卡纸"
    # The job for the same resolution, run again, writes nothing more.
    knowledge_learning.draft_article(tid)
    assert len(source_drafts(tid)) == 1


def test_a_resolved_english_ticket_becomes_an_english_draft(settings, org, output_dir, backend):
    customers.sign_up("jmiller", "John Miller", "john.miller@example.com", "Kund3n-Passwort!")
    john = actor("jmiller")
    tid = _resolve(settings, org, john, "Refund not received after cancelling order",
                   "I cancelled my order 5 days ago but the refund has not arrived on my credit "
                   "card. My name is John Miller, write to john.miller@example.com.",
                   [("agent", "Refunds go back to the original payment method. Card refunds take 5 "
                              "to 10 business days after the cancellation is confirmed, because "
                              "the bank has to process them."),
                    ("customer", "OK, but how can I check it?"),
                    ("agent", "Open My Orders, select the cancelled order and click Refund status; "
                              "it shows the refund reference number you can give your bank."),
                    ("customer", "I see it now, thanks.")])
    run_jobs("draft_article")
    [a] = source_drafts(tid)
    save(output_dir, f"en_{backend}", a)
    assert (a.status, a.ai_generated, a.language) == ("in_review", True, "en")
    assert "## Problem" in a.body and "## Solution" in a.body and "## 问题" not in a.body
    assert "refund" in (a.title + a.body).lower()
    assert_clean(a.title + a.body, "John Miller", "Miller", "john.miller@example.com")
    published = knowledge_review.transition(org.supervisor, a.id, "approve", expected_version=a.version)
    assert published.status == "published"


def test_a_ticket_on_a_published_articles_problem_is_merged_into_a_new_version(settings, org,
                                                                              output_dir, backend):
    existing = knowledge.create_article(org.agent, knowledge.ArticleInput(
        "打印机无法打印怎么办", "## 问题\n\n打印机无法打印，打印任务一直排队。\n\n## 解决方案\n\n"
        "关机一分钟后重启打印机，清除打印队列，重新安装驱动。\n", "zh", "public"))
    knowledge.publish_article(org.supervisor, existing.id)
    run_jobs("index_article")
    before = Article.get_by_id(existing.id)
    tid = printer_ticket(settings, org)
    run_jobs("draft_article")
    [p] = source_drafts(tid)
    save(output_dir, f"update_{backend}", p)
    assert p.update_of_id == existing.id and p.status == "in_review" and p.ai_generated
    assert p.body.startswith(before.body.rstrip()) and "## 补充（来自已解决的工单）" in p.body
    assert_clean(p.body, "张三", "13812345678")
    queue = {q.article.id: q for q in knowledge_review.review_queue(org.supervisor)}
    assert queue[p.id].target.id == existing.id
    merged = knowledge_review.merge_proposal(org.supervisor, p.id)
    assert merged.id == existing.id and merged.version > before.version
    assert merged.body == p.body and merged.status == "published"
    assert Article.get_by_id(p.id).status == "merged"
    assert [r.id for r in knowledge_review.source_tickets(org.supervisor, existing.id)] == [tid]
    assert len(knowledge_review.versions(org.supervisor, existing.id)) >= 2
