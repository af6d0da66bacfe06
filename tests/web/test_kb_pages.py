"""Knowledge-base pages for staff and the knowledge admin pages, through the real app
(Flask test client, real SQLite file, real attachment store, real CSRF)."""
from __future__ import annotations

import io
import re

from appliance import jobs
from appliance.models import Article, ArticleFile
from appliance.rules.access import SYSTEM
from appliance.services import knowledge, knowledge_review
from appliance.services import org as org_service
from appliance.services.knowledge import ArticleInput
from tests.factories import ticket

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


def _article(who, title="打印机卡纸怎么办", body="先关机，再取出纸。", **kw) -> knowledge.ArticleView:
    return knowledge.create_article(who, ArticleInput(title=title, body=body, **kw))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(b, path, data, page, **kw):
    """POST with the CSRF token of `page` (the form the user would have submitted)."""
    return b.client.post(path, data={**data, "csrf_token": _csrf(b.get(page).get_data(as_text=True))},
                         **kw)


def assert_inert(fragment: str) -> None:
    """No element that runs script: the author's HTML may remain only as escaped text."""
    assert not re.search(r"<(script|iframe|object|embed|style)\b", fragment, re.I)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", fragment, re.I)
    assert not re.search(r"<[a-z][^>]*(href|src)\s*=\s*\"?\s*(javascript|data|vbscript):", fragment, re.I)
    assert "&lt;script&gt;" in fragment  # what the author typed is shown, not run


def test_a_customer_cannot_open_the_staff_knowledge_pages(login, org):
    a = _article(org.agent, title="内部：退款审批流程")
    customer = login("zhangsan")
    for path in ("/agent/kb", f"/agent/kb/{a.id}", f"/agent/kb/articles/{a.id}",
                 f"/agent/kb/{a.id}/edit", "/agent/kb/review", f"/agent/kb/{a.id}/versions/1"):
        r = customer.get(path)
        assert r.status_code in (302, 403, 404), path
        assert "退款审批流程" not in r.get_data(as_text=True)
    assert login("wangfang").get(f"/agent/kb/{a.id}").status_code == 200


def test_the_list_filters_by_status_language_and_ai_and_shows_the_nav_link(login, org):
    _article(org.agent, title="Printer jam", body="Turn it off.", language="en")
    ai = knowledge.create_article(org.admin, ArticleInput(title="AI 草稿：发票抬头", body="步骤"),
                                  ai_generated=True)
    b = login("wangfang")
    html = b.get("/agent/kb").get_data(as_text=True)
    assert 'id="nav-kb"' in html and "Printer jam" in html and "AI 草稿" in html
    only_ai = b.get("/agent/kb?ai=yes").get_data(as_text=True)
    assert "AI 草稿" in only_ai and "Printer jam" not in only_ai
    only_en = b.get("/agent/kb?language=en").get_data(as_text=True)
    assert "Printer jam" in only_en and "AI 草稿" not in only_en
    assert "AI 草稿" not in b.get("/agent/kb?status=published").get_data(as_text=True)
    assert b.get(f"/agent/kb/{ai.id}").status_code == 200


def test_a_search_shows_highlighted_hits_and_facets(login, org):
    _article(org.agent, title="Refund to a bank card", body="Refunds take 3 days.", language="en")
    _article(org.agent, title="Change the delivery address", body="Call us.", language="en")
    while jobs.run_pending_inline():  # the indexing job the services scheduled
        pass
    html = login("wangfang").get("/agent/kb?q=refund").get_data(as_text=True)
    results = html.split('id="kb-results"')[1]
    assert "Refund" in results and "delivery address" not in results
    assert "<mark>" in results
    assert 'id="kb-facets"' in html


def test_writing_an_article_shows_field_errors_a_preview_and_saves_a_draft(login, org):
    b = login("wangfang")
    r = _post(b, "/agent/kb/new", {"title": "", "body": "", "language": "fr",
                                   "visibility": "internal", "review_by": "soon"}, "/agent/kb/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    for field in ("title", "body", "language", "review_by"):
        assert f'id="err-{field}"' in html, field
    r = _post(b, "/agent/kb/new", {"title": "卡纸", "body": "**先关机**", "language": "zh",
                                   "visibility": "internal", "preview": "1"}, "/agent/kb/new")
    assert r.status_code == 200 and "<strong>先关机</strong>" in r.get_data(as_text=True)
    assert Article.select().count() == 0  # a preview saves nothing
    r = _post(b, "/agent/kb/new", {"title": "卡纸", "body": "**先关机**", "language": "zh",
                                   "visibility": "public", "tags": "打印机, 卡纸",
                                   "review_by": "2027-01-31"}, "/agent/kb/new")
    assert r.status_code == 302
    a = Article.get()
    assert (a.status, a.tags, str(a.review_by), a.owner_id) == (
        "draft", ["打印机", "卡纸"], "2027-01-31", org.agent.user_id)
    page = b.get(r.headers["Location"]).get_data(as_text=True)
    assert "<strong>先关机</strong>" in page and 'data-kb-action="submit"' in page


def test_script_iframes_and_javascript_links_are_neutralised_on_the_page(login, org):
    other = _article(org.agent, title="别的文章")
    b = login("wangfang")
    r = _post(b, f"/agent/kb/{other.id}/files", {"files": (io.BytesIO(PNG), "x.png")},
              f"/agent/kb/{other.id}", content_type="multipart/form-data")
    foreign = ArticleFile.get().id
    evil = ("<script>alert('kb')</script>\n\n[click](javascript:alert(1))\n\n"
            "<iframe src=\"https://evil.example/\"></iframe>\n\n"
            "<a href=\"javascript:alert(2)\" onclick=\"alert(3)\">x</a>\n\n"
            "![remote](https://evil.example/track.png) "
            f"![other](/agent/kb/files/{foreign})\n\n[ok](https://example.com/help)")
    a = _article(org.agent, title="XSS 测试", body=evil)
    html = b.get(f"/agent/kb/{a.id}").get_data(as_text=True)
    body = html.split('id="kb-body">')[1].split("</div>")[0]
    assert_inert(body)
    assert "evil.example" not in "".join(re.findall(r"<img[^>]*>", body))
    assert f"/agent/kb/files/{foreign}" not in body  # another article's image
    assert '<a href="https://example.com/help" rel="noopener noreferrer">ok</a>' in body
    r = _post(b, "/agent/kb/preview", {"body": evil}, "/agent/kb/new")
    assert r.status_code == 200
    assert_inert(r.get_data(as_text=True))


def test_an_agent_cannot_approve_but_the_categorys_reviewer_can(login, org):
    printers = org_service.save_category(SYSTEM, "打印机")
    a = _article(org.agent, title="卡纸处理", category_id=printers.id)
    admin = login("admin")
    r = _post(admin, "/admin/kb/reviewers", {"category_id": printers.id,
                                             "user_id": org.agent2.user_id}, "/admin/kb/reviewers")
    assert r.status_code == 302
    assert "李雷" in admin.get("/admin/kb/reviewers").get_data(as_text=True)

    agent = login("wangfang")
    page = f"/agent/kb/{a.id}"
    assert 'data-kb-action="approve"' not in agent.get(page).get_data(as_text=True)
    r = _post(agent, f"/agent/kb/{a.id}/action", {"action": "submit", "expected_version": 1}, page)
    assert r.status_code == 302
    r = _post(agent, f"/agent/kb/{a.id}/action", {"action": "approve", "expected_version": 2}, page)
    assert r.status_code == 403 and Article.get_by_id(a.id).status == "in_review"
    lead = login("lead")  # a supervisor, but the category has its own reviewer
    r = _post(lead, f"/agent/kb/{a.id}/action", {"action": "approve", "expected_version": 2}, page)
    assert r.status_code == 403
    reviewer = login("lilei")
    queue = reviewer.get("/agent/kb/review").get_data(as_text=True)
    assert "卡纸处理" in queue and 'data-kb-action="approve"' in queue
    r = _post(reviewer, f"/agent/kb/{a.id}/action", {"action": "approve", "expected_version": 2,
                                                      "next": "review"}, page)
    assert r.status_code == 302 and r.headers["Location"].endswith("/agent/kb/review")
    assert Article.get_by_id(a.id).status == "published"
    # Published: only its reviewers change it.
    assert agent.get(f"/agent/kb/{a.id}/edit").status_code == 200
    r = _post(agent, f"/agent/kb/{a.id}/edit", {"title": "改", "body": "改", "language": "zh",
                                                "visibility": "internal", "expected_version": 3},
              f"/agent/kb/{a.id}/edit")
    assert r.status_code == 403 and Article.get_by_id(a.id).title == "卡纸处理"


def test_reject_needs_a_reason_and_the_reason_is_shown(login, org):
    a = _article(org.agent, title="重复的文章")
    lead = login("lead")
    page = f"/agent/kb/{a.id}"
    r = _post(lead, f"/agent/kb/{a.id}/action", {"action": "reject", "reason": "  ",
                                                  "expected_version": 1}, page)
    assert r.status_code == 400 and 'id="kb-action-error"' in r.get_data(as_text=True)
    r = _post(lead, f"/agent/kb/{a.id}/action", {"action": "reject", "reason": "与 #12 重复",
                                                  "expected_version": 1}, page)
    assert r.status_code == 302
    html = lead.get(page).get_data(as_text=True)
    assert "与 #12 重复" in html and Article.get_by_id(a.id).reject_reason == "与 #12 重复"


def test_files_are_limited_in_size_checked_by_content_and_served_as_downloads(login, org):
    a = _article(org.agent)
    b = login("wangfang")
    page, upload = f"/agent/kb/{a.id}", f"/agent/kb/{a.id}/files"
    big = PNG + b"\0" * (5 * 1024 * 1024)
    r = _post(b, upload, {"files": (io.BytesIO(big), "big.png")}, page,
              content_type="multipart/form-data")
    assert r.status_code == 413 and 'id="kb-file-error"' in r.get_data(as_text=True)
    r = _post(b, upload, {"files": (io.BytesIO(b"<html><script>x</script>"), "fake.png")}, page,
              content_type="multipart/form-data")
    assert r.status_code == 415
    assert ArticleFile.select().count() == 0
    r = _post(b, upload, {"files": (io.BytesIO(PNG), "screen.png")}, page,
              content_type="multipart/form-data")
    assert r.status_code == 302
    f = ArticleFile.get()
    got = b.get(f"/agent/kb/files/{f.id}")
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment")
    knowledge.update_article(org.agent, a.id, ArticleInput(
        title="卡纸", body=f"看图：![截图](/agent/kb/files/{f.id})"), expected_version=1)
    assert f'<img src="/agent/kb/files/{f.id}" alt="截图">' in b.get(page).get_data(as_text=True)
    assert login("zhangsan").get(f"/agent/kb/files/{f.id}").status_code in (302, 403, 404)
    r = _post(b, f"/agent/kb/files/{f.id}/delete", {"article_id": a.id}, page)
    assert r.status_code == 302 and ArticleFile.select().count() == 0


def test_edit_conflict_diff_and_rollback(login, org):
    a = _article(org.agent, title="重置密码", body="第一步：打开设置。\n第二步：点击重置。")
    b = login("wangfang")
    edit = f"/agent/kb/{a.id}/edit"
    r = _post(b, edit, {"title": "重置密码", "body": "第一步：打开设置。\n第二步：点击“忘记密码”。",
                        "language": "zh", "visibility": "internal", "expected_version": 1}, edit)
    assert r.status_code == 302 and Article.get_by_id(a.id).version == 2
    # A stale edit (read at version 1) is refused, and the user's text is kept.
    r = _post(b, edit, {"title": "重置密码", "body": "我的改动：联系管理员。", "language": "zh",
                        "visibility": "internal", "expected_version": 1}, edit)
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="kb-alert"' in html
    assert "我的改动：联系管理员。" in html and 'id="kb-theirs"' in html
    assert 'name="expected_version" value="2"' in html
    assert "我的改动" not in Article.get_by_id(a.id).body

    diff = b.get(f"/agent/kb/{a.id}/versions/1").get_data(as_text=True)
    assert 'class="kb-diff-line del"' in diff and "点击重置" in diff
    assert 'class="kb-diff-line ins"' in diff and "忘记密码" in diff
    r = _post(b, f"/agent/kb/{a.id}/rollback", {"version": 1, "expected_version": 1},
              f"/agent/kb/{a.id}/versions/1")  # read before the edit: refused
    assert r.status_code == 409 and 'id="kb-alert"' in r.get_data(as_text=True)
    r = _post(b, f"/agent/kb/{a.id}/rollback", {"version": 1, "expected_version": 2},
              f"/agent/kb/{a.id}/versions/1")
    assert r.status_code == 302
    row = Article.get_by_id(a.id)
    assert row.body == "第一步：打开设置。\n第二步：点击重置。" and row.version == 3
    page = b.get(f"/agent/kb/{a.id}").get_data(as_text=True)
    assert "rolled back to version 1" in page
    assert len(knowledge_review.versions(org.agent, a.id)) == 3


def test_a_published_article_cannot_be_hard_deleted_only_archived(login, org, settings):
    a = _article(org.agent, title="已发布的文章")
    knowledge_review.transition(org.admin, a.id, "approve")
    admin = login("admin")
    page = f"/agent/kb/{a.id}"
    r = _post(admin, f"/agent/kb/{a.id}/delete", {}, page)
    assert r.status_code == 409 and "Archive it instead" in r.get_data(as_text=True)
    draft = _article(org.agent, title="草稿")
    r = _post(admin, f"/agent/kb/{draft.id}/delete", {}, f"/agent/kb/{draft.id}")
    assert r.status_code == 302 and Article.get_or_none(Article.id == draft.id) is None


def test_related_tickets_are_linked_by_number_and_unlinked(login, org, settings):
    a = _article(org.agent)
    t = ticket(settings, org.agent, department_id=org.after_sales)
    b = login("wangfang")
    page = f"/agent/kb/{a.id}"
    r = _post(b, f"/agent/kb/{a.id}/tickets", {"ticket": "GD-1999-000001"}, page)
    assert r.status_code == 404 and 'id="kb-ticket-error"' in r.get_data(as_text=True)
    r = _post(b, f"/agent/kb/{a.id}/tickets", {"ticket": t.summary.number}, page)
    assert r.status_code == 302 and t.summary.number in b.get(page).get_data(as_text=True)
    r = _post(b, f"/agent/kb/{a.id}/tickets/{t.summary.id}/unlink", {}, page)
    assert r.status_code == 302
    assert not knowledge_review.related_tickets(org.agent, a.id)


def test_the_review_queue_merges_an_ai_proposal_into_its_target(login, org, settings):
    target = _article(org.agent, title="退款时效", body="退款 3 天到账。")
    knowledge_review.transition(org.admin, target.id, "approve")
    t = ticket(settings, org.agent, subject="退款还没到", department_id=org.after_sales)
    p = knowledge.create_article(org.admin, ArticleInput(title="退款时效", body="退款 1-3 个工作日到账。"),
                                 ai_generated=True, update_of=target.id)
    knowledge_review.link_ticket_row(p.id, t.summary.id, "source", None)
    knowledge_review.transition(org.admin, p.id, "submit")
    lead = login("lead")
    queue = lead.get("/agent/kb/review").get_data(as_text=True)
    item = queue.split(f'id="kb-item-{p.id}"')[1]
    assert "AI-generated" in item and t.summary.number in item and f"/agent/kb/review/{p.id}/merge" in item
    merge = f"/agent/kb/review/{p.id}/merge"
    html = lead.get(merge).get_data(as_text=True)
    assert 'id="kb-target-source"' in html and 'class="kb-diff-line ins"' in html
    r = _post(lead, merge, {"title": "退款时效", "body": "退款 1-3 个工作日到账（节假日顺延）。",
                            "expected_version": 2}, merge)
    assert r.status_code == 302
    assert Article.get_by_id(target.id).body == "退款 1-3 个工作日到账（节假日顺延）。"
    assert Article.get_by_id(p.id).status == "merged"
    assert t.summary.number in lead.get(f"/agent/kb/{target.id}").get_data(as_text=True)
    assert login("wangfang").get(merge).status_code == 200  # reading is open to staff...
    r = _post(login("wangfang"), merge, {"title": "x", "body": "y", "expected_version": 3}, merge)
    assert r.status_code in (403, 409)  # ...deciding is not (and it is merged already)


def test_a_translation_is_linked_both_ways(login, org):
    zh = _article(org.agent, title="重置密码", body="步骤")
    b = login("wangfang")
    form = b.get(f"/agent/kb/new?translation_of={zh.id}").get_data(as_text=True)
    assert f'name="translation_of" value="{zh.id}"' in form
    assert re.search(r'<option value="en" selected>', form)
    r = _post(b, "/agent/kb/new", {"title": "Reset a password", "body": "Steps", "language": "en",
                                   "visibility": "internal", "translation_of": zh.id},
              f"/agent/kb/new?translation_of={zh.id}")
    assert r.status_code == 302
    en = Article.get(Article.title == "Reset a password")
    assert "Reset a password" in b.get(f"/agent/kb/{zh.id}").get_data(as_text=True)
    assert "重置密码" in b.get(f"/agent/kb/{en.id}").get_data(as_text=True)
    r = _post(b, "/agent/kb/new", {"title": "Again", "body": "x", "language": "en",
                                   "visibility": "internal", "translation_of": zh.id}, "/agent/kb/new")
    assert r.status_code == 400 and 'id="err-language"' in r.get_data(as_text=True)


def test_admins_manage_synonym_sets_and_agents_cannot(login, org):
    admin = login("admin")
    page = "/admin/kb/synonyms"
    index = admin.get("/admin/").get_data(as_text=True)
    assert 'id="admin-kb"' in index and '<a href="/admin/kb/synonyms" id="nav-kb">' in index
    r = _post(admin, page, {"words": "退款, 退钱 返款"}, page)
    assert r.status_code == 302
    html = admin.get(page).get_data(as_text=True)
    assert "退款, 退钱, 返款" in html
    set_id = int(re.search(r'id="synonym-set-(\d+)"', html).group(1))
    r = _post(admin, f"{page}/{set_id}", {"words": "退款, 退钱, 返款, 退费"}, page)
    assert r.status_code == 302 and "退费" in admin.get(page).get_data(as_text=True)
    r = _post(admin, page, {"words": ""}, page)
    assert r.status_code == 400 and 'id="err-words"' in r.get_data(as_text=True)
    r = _post(admin, f"{page}/{set_id}/delete", {}, page)
    assert r.status_code == 302 and "退费" not in admin.get(page).get_data(as_text=True)
    agent = login("wangfang")
    assert agent.get(page).status_code == 403
    assert agent.get("/admin/kb/reviewers").status_code == 403
