"""Knowledge-article life cycle through the services, on SQLite and PostgreSQL:
versions, diffs, rollback, translations, reviewers per category, AI proposals,
optimistic locking, deletion, category-reviewer admin and article files."""
from __future__ import annotations

import pytest

from appliance.errors import Conflict, NotFound, PayloadTooLarge, PermissionDenied, \
    UnsupportedMediaType, ValidationError
from appliance.models import Article, ArticleFile, ArticleTicket, ArticleVersion, Job
from appliance.rules.access import SYSTEM
from appliance.services import comments, knowledge, knowledge_admin, knowledge_files, \
    knowledge_review, org as org_service
from appliance.services.attachments import Upload
from appliance.services.knowledge import ArticleInput
from tests.factories import make_org, ticket

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


@pytest.fixture
def org(settings):
    return make_org()


def _new(who, title="打印机卡纸", body="第一步：关机。", **kw):
    return knowledge.create_article(who, ArticleInput(title=title, body=body, **kw))


def _edit(who, a, body, *, version, title=None, **kw):
    return knowledge.update_article(who, a.id, ArticleInput(title=title or a.title, body=body,
                                                           language=a.language, **kw),
                                    expected_version=version)


def test_every_content_change_is_a_version_and_the_diff_reads_line_by_line(org):
    a = _new(org.agent, body="第一步：关机。\n第二步：取纸。")
    assert Job.select().where(Job.name == "index_article", Job.object_id == a.id).exists()
    _edit(org.agent, a, "第一步：关机。\n第二步：轻轻取出卡住的纸。\n第三步：开机。", version=1,
          tags=["打印机"])
    vs = knowledge_review.versions(org.agent, a.id)
    assert [(v.version, v.note) for v in vs] == [(2, "edited"), (1, "created")]
    d = knowledge_review.diff(org.agent, a.id, 1)
    assert (d.old.version, d.new.version) == (1, 2)
    body = [(line.op, line.text) for line in d.body_lines if line.op != "@"]
    assert ("-", "第二步：取纸。") in body and ("+", "第二步：轻轻取出卡住的纸。") in body
    assert ("+", "第三步：开机。") in body and (" ", "第一步：关机。") in body
    assert d.fields == [("tags", [], ["打印机"])]
    with pytest.raises(NotFound):
        knowledge_review.diff(org.agent, a.id, 9)


def test_rollback_writes_the_old_content_as_a_new_version(org):
    a = _new(org.agent, body="旧的说明")
    _edit(org.agent, a, "新的说明", version=1, visibility="public")
    back = knowledge_review.rollback(org.agent, a.id, 1, expected_version=2)
    assert (back.body, back.visibility, back.version) == ("旧的说明", "internal", 3)
    notes = [v.note for v in knowledge_review.versions(org.agent, a.id)]
    assert notes == ["rolled back to version 1", "edited", "created"]
    with pytest.raises(Conflict):  # read at version 2, changed since
        knowledge_review.rollback(org.agent, a.id, 2, expected_version=2)


def test_a_stale_edit_is_refused_with_409_and_changes_nothing(org):
    a = _new(org.agent)
    _edit(org.agent, a, "王芳的版本", version=1)
    with pytest.raises(Conflict) as exc:
        _edit(org.supervisor, a, "主管的版本", version=1)  # same department: the draft's scope
    assert exc.value.http_status == 409 and exc.value.details["current_version"] == 2
    assert Article.get_by_id(a.id).body == "王芳的版本"
    assert ArticleVersion.select().where(ArticleVersion.article == a.id).count() == 2
    with pytest.raises(Conflict):
        knowledge_review.transition(org.supervisor, a.id, "approve", expected_version=1)


def test_bad_input_names_every_field_and_writes_nothing(org):
    with pytest.raises(ValidationError) as exc:
        knowledge.create_article(org.agent, ArticleInput(
            title="", body="x" * (knowledge.MAX_BODY + 1), language="fr", visibility="secret",
            tags=["t"] * 21, category_id=999, owner_id=999, review_by="tomorrow"))
    assert set(exc.value.fields) == {"title", "body", "language", "visibility", "tags",
                                     "category_id", "owner_id", "review_by"}
    assert Article.select().count() == 0 and ArticleVersion.select().count() == 0


def test_translations_link_both_ways_and_one_language_each(org):
    zh = _new(org.agent, title="重置密码")
    en = _new(org.agent, title="Reset a password", language="en", translation_of=zh.id)
    assert [t.id for t in knowledge.translations(org.agent, zh.id)] == [en.id]
    assert [t.id for t in knowledge.translations(org.agent, en.id)] == [zh.id]
    with pytest.raises(ValidationError) as exc:
        _new(org.agent, title="Again", language="en", translation_of=zh.id)
    assert "language" in exc.value.fields
    # A customer sees a translation only once it is published and public.
    knowledge_review.transition(org.admin, zh.id, "approve")
    assert knowledge.translations(org.customer, zh.id) == []


def test_a_categorys_reviewers_decide_and_sub_categories_inherit_them(org):
    printers = org_service.save_category(SYSTEM, "打印机")
    laser = org_service.save_category(SYSTEM, "激光", parent_id=printers.id)
    with pytest.raises(PermissionDenied):
        knowledge_admin.add_reviewer(org.supervisor, printers.id, org.agent2.user_id)
    with pytest.raises(ValidationError) as exc:
        knowledge_admin.add_reviewer(org.admin, printers.id, org.customer.user_id)
    assert exc.value.fields == {"user_id": "must be an active staff member"}
    knowledge_admin.add_reviewer(org.admin, printers.id, org.agent2.user_id)
    knowledge_admin.add_reviewer(org.admin, printers.id, org.agent2.user_id)  # idempotent
    rows = {r.category.name: [u.name for u in r.reviewers]
            for r in knowledge_admin.list_reviewers(org.admin)}
    assert rows == {"打印机": ["李雷"], "打印机 / 激光": []}

    a = _new(org.agent, category_id=laser.id)
    knowledge_review.transition(org.agent, a.id, "submit")
    for who in (org.agent, org.supervisor):  # not the category's reviewer
        with pytest.raises(PermissionDenied):
            knowledge_review.transition(who, a.id, "approve")
    done = knowledge_review.transition(org.agent2, a.id, "approve")
    assert done.status == "published" and done.published_at is not None
    # Published: only its reviewers (and admins) change its text.
    with pytest.raises(PermissionDenied):
        _edit(org.agent, done, "改", version=done.version)
    _edit(org.admin, done, "管理员改", version=done.version)
    knowledge_admin.remove_reviewer(org.admin, printers.id, org.agent2.user_id)
    with pytest.raises(NotFound):
        knowledge_admin.remove_reviewer(org.admin, printers.id, org.agent2.user_id)
    # Without reviewers, supervisors review again.
    knowledge_review.transition(org.supervisor, a.id, "archive")


def test_illegal_actions_and_a_reject_without_reason_are_refused(org):
    a = _new(org.agent)
    with pytest.raises(Conflict):
        knowledge_review.transition(org.agent, a.id, "return")  # a draft is not in review
    with pytest.raises(ValidationError) as exc:
        knowledge_review.transition(org.supervisor, a.id, "reject", reason="  ")
    assert exc.value.fields == {"reason": "required"}
    with pytest.raises(ValidationError):
        knowledge_review.transition(org.supervisor, a.id, "publish-now")
    rejected = knowledge_review.transition(org.supervisor, a.id, "reject", reason="内容重复")
    assert (rejected.status, rejected.reject_reason) == ("rejected", "内容重复")
    with pytest.raises(PermissionDenied):
        knowledge_review.transition(org.agent, a.id, "restore")
    assert knowledge_review.transition(org.supervisor, a.id, "restore").status == "draft"


def test_the_review_queue_shows_ai_drafts_with_their_source_tickets(org, settings):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    other = ticket(settings, org.agent2, department_id=org.logistics)
    draft = knowledge.create_article(org.admin, ArticleInput(title="AI：卡纸", body="步骤"),
                                     ai_generated=True)
    for source in (t, other):
        knowledge_review.link_ticket_row(draft.id, source.summary.id, "source", None)
    knowledge_review.transition(org.admin, draft.id, "submit")
    _new(org.agent, title="还是草稿")  # not submitted: not in the queue
    items = knowledge_review.review_queue(org.agent)
    assert [i.article.id for i in items] == [draft.id]
    item = items[0]
    assert item.article.ai_generated and not item.can_review and item.target is None
    assert [s.name for s in item.sources] == [t.summary.number]  # only tickets 王芳 may see
    assert knowledge_review.review_queue(org.supervisor)[0].can_review
    with pytest.raises(PermissionDenied):
        knowledge_review.review_queue(org.customer)


def test_an_ai_proposal_is_merged_into_its_target_with_the_reviewers_edits(org, settings):
    target = _new(org.agent, title="退款时效", body="3 天到账。")
    knowledge_review.transition(org.supervisor, target.id, "approve")
    t = ticket(settings, org.agent, department_id=org.after_sales)
    p = knowledge.create_article(org.admin, ArticleInput(title="退款时效", body="1-3 个工作日到账。"),
                                 ai_generated=True, update_of=target.id)
    knowledge_review.link_ticket_row(p.id, t.summary.id, "source", None)
    knowledge_review.transition(org.admin, p.id, "submit")
    with pytest.raises(PermissionDenied):
        knowledge_review.merge_proposal(org.agent, p.id)
    with pytest.raises(ValidationError):
        knowledge_review.merge_proposal(org.supervisor, p.id, body="  ")
    merged = knowledge_review.merge_proposal(org.supervisor, p.id, body="1-3 个工作日到账（节假日顺延）。",
                                             expected_version=2)
    assert merged.id == target.id and merged.body == "1-3 个工作日到账（节假日顺延）。"
    assert merged.status == "published"
    assert Article.get_by_id(p.id).status == "merged"
    assert knowledge_review.versions(org.agent, target.id)[0].note == f"merged proposal #{p.id}"
    assert [s.id for s in knowledge_review.source_tickets(org.agent, target.id)] == [t.summary.id]
    with pytest.raises(Conflict):  # merged already
        knowledge_review.merge_proposal(org.supervisor, p.id)


def test_a_rejected_proposal_keeps_its_reason_and_leaves_the_target_alone(org):
    target = _new(org.agent, title="退款时效", body="3 天到账。")
    p = knowledge.create_article(org.admin, ArticleInput(title="退款", body="乱写的"),
                                 ai_generated=True, update_of=target.id)
    knowledge_review.transition(org.admin, p.id, "submit")
    knowledge_review.transition(org.supervisor, p.id, "reject", reason="没有新信息")
    row = Article.get_by_id(p.id)
    assert (row.status, row.reject_reason, row.reviewed_by_id) == (
        "rejected", "没有新信息", org.supervisor.user_id)
    assert Article.get_by_id(target.id).body == "3 天到账。"


def test_an_article_used_by_a_posted_reply_can_only_be_archived(org, settings):
    t = ticket(settings, org.agent, department_id=org.after_sales)
    a = _new(org.agent)
    note = comments.add_comment(org.agent, t.summary.id, "内部备注：见文章", settings, internal=True)
    knowledge_review.record_use(org.agent, a.id, "link", ticket_id=t.summary.id, comment_id=note.id)
    assert knowledge_review.used_in_replies(a.id) == 0  # an internal note is no reply
    reply = comments.add_comment(org.agent, t.summary.id, "请参考文章", settings)
    knowledge_review.record_use(org.agent, a.id, "link", ticket_id=t.summary.id, comment_id=reply.id)
    assert knowledge_review.used_in_replies(a.id) == 1
    with pytest.raises(PermissionDenied):
        knowledge_review.delete_article(org.agent, a.id)
    with pytest.raises(Conflict) as exc:
        knowledge_review.delete_article(org.admin, a.id)
    assert exc.value.details["uses"] == 2  # the note's and the reply's
    assert knowledge_review.transition(org.admin, a.id, "archive").status == "archived"
    with pytest.raises(Conflict):  # archived, but a reply still links to it
        knowledge_review.delete_article(org.admin, a.id)
    assert ArticleTicket.select().where(ArticleTicket.kind == "used").count() == 1


def test_an_unused_draft_is_deleted_with_its_versions(org):
    a = _new(org.agent)
    knowledge_review.delete_article(org.supervisor, a.id, expected_version=1)
    assert Article.get_or_none(Article.id == a.id) is None
    assert ArticleVersion.select().count() == 0
    published = _new(org.agent)
    knowledge_review.transition(org.admin, published.id, "approve")
    with pytest.raises(Conflict):
        knowledge_review.delete_article(org.admin, published.id)


def test_customers_read_only_published_public_articles(org):
    a = _new(org.agent, visibility="public")
    internal = _new(org.agent, title="内部")
    with pytest.raises(NotFound):
        knowledge.get_article(org.customer, a.id)
    for art in (a, internal):
        knowledge_review.transition(org.admin, art.id, "approve")
    assert knowledge.get_article(org.customer, a.id).id == a.id
    with pytest.raises(NotFound):
        knowledge.get_article(org.customer, internal.id)
    assert [x.id for x in knowledge.list_articles(org.customer)] == [a.id]
    with pytest.raises(NotFound):
        knowledge_review.versions(org.customer, a.id)


def test_article_files_are_limited_checked_and_public_only_when_the_article_is(org, settings):
    a = _new(org.agent, visibility="public")
    big_image = Upload("big.png", PNG + b"\0" * knowledge_files.MAX_IMAGE_BYTES)
    with pytest.raises(PayloadTooLarge):
        knowledge_files.upload_files(org.agent, a.id, [Upload("ok.png", PNG), big_image], settings)
    with pytest.raises(UnsupportedMediaType):
        knowledge_files.upload_files(org.agent, a.id, [Upload("x.png", b"<script>")], settings)
    assert ArticleFile.select().count() == 0  # all or nothing
    # A 6 MB text file is fine: only images are held to 5 MB.
    knowledge_files.upload_files(org.agent, a.id, [Upload("log.txt", b"x" * 6 * 1024 * 1024)], settings)
    [f] = knowledge_files.upload_files(org.agent, a.id, [Upload("ok.png", PNG)], settings)
    assert f.is_image and knowledge_files.file_ids(a.id) == {f.id - 1, f.id}
    with pytest.raises(NotFound):
        knowledge_files.open_file(org.customer, f.id, settings)
    with pytest.raises(NotFound):
        knowledge_files.open_file(org.agent, f.id, settings, public_only=True)
    knowledge_review.transition(org.admin, a.id, "approve")
    assert knowledge_files.open_file(org.customer, f.id, settings, public_only=True)[1] == PNG
    with pytest.raises(PermissionDenied):  # published: its reviewers change it
        knowledge_files.delete_file(org.agent, f.id, settings)
    knowledge_files.delete_file(org.admin, f.id, settings)
    with pytest.raises(NotFound):
        knowledge_files.open_file(org.admin, f.id, settings)


def test_an_article_holds_at_most_the_file_limit(org, settings, monkeypatch):
    a = _new(org.agent)
    monkeypatch.setattr(knowledge_files, "MAX_FILES", 2)
    knowledge_files.upload_files(org.agent, a.id, [Upload("a.png", PNG), Upload("b.png", PNG)],
                                 settings)
    with pytest.raises(PayloadTooLarge):
        knowledge_files.upload_files(org.agent, a.id, [Upload("c.png", PNG)], settings)
    assert ArticleFile.select().count() == 2


def test_an_ai_update_proposal_is_merged_or_rejected_never_published_beside_its_target(org):
    target = _new(org.agent, title="退款多久到账")
    knowledge_review.transition(org.supervisor, target.id, "approve")
    p = knowledge.create_article(SYSTEM, knowledge.ArticleInput("退款多久到账", "补充：节假日顺延。"),
                                 ai_generated=True, update_of=target.id)
    knowledge_review.transition(SYSTEM, p.id, "submit")
    with pytest.raises(Conflict):
        knowledge_review.transition(org.supervisor, p.id, "approve")
    from appliance.rules import knowledge as rules
    assert "approve" not in rules.allowed_actions("in_review", can_review=True, can_write=True,
                                                  proposal=True)
    assert Article.select().where(Article.status == "published").count() == 1
    knowledge_review.transition(org.supervisor, p.id, "reject", reason="重复")
    knowledge_review.transition(org.supervisor, p.id, "restore")
    knowledge_review.transition(org.supervisor, p.id, "reject", reason="仍然重复")
    # The article keeps the latest reason; its history keeps both.
    assert Article.get_by_id(p.id).reject_reason == "仍然重复"
    notes = [v.note for v in knowledge_review.versions(org.supervisor, p.id)]
    assert notes == ["rejected: 仍然重复", "rejected: 重复", "created"]


def test_an_article_cited_by_a_draft_or_deflected_cannot_be_hard_deleted_and_files_go_with_a_delete(
        org, settings):
    from appliance.models import ArticleUse
    from appliance.services.attachments import _path
    cited = _new(org.agent)
    ArticleUse.create(article=cited.id, kind="cited")
    knowledge_review.transition(org.admin, cited.id, "archive")
    with pytest.raises(Conflict):
        knowledge_review.delete_article(org.admin, cited.id)
    assert ArticleUse.select().count() == 1
    a = _new(org.agent)
    knowledge_files.upload_files(org.agent, a.id, [Upload("p.png", PNG)], settings)
    stored = ArticleFile.get(ArticleFile.article == a.id).storage_name
    assert _path(settings, stored).exists()
    knowledge_review.delete_article(org.admin, a.id, settings=settings)
    assert not _path(settings, stored).exists()
