"""Knowledge suggestions in a real browser against the real appliance (gunicorn + Huey
worker, whose index job indexes the articles): a customer typing a subject in the
portal sees a help article and says it solved the problem (a deflection, no ticket);
an agent inserts an article's link into a reply from the ticket page's Knowledge panel
and the posted reply records the use."""
import time

import pytest

from tests.e2e.test_board_live import log_in, site_config, site_db  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TITLE = "如何申请退款"


@pytest.fixture
def to_worker(site_db):  # noqa: F811
    """Jobs this process commits go straight to the site's queue, as the web app's do
    (site_db leaves them for the sweeper, which looks only once a minute)."""
    from appliance import jobs, runtime
    from appliance.tasks import install_enqueuer
    install_enqueuer(runtime.settings())
    yield
    jobs.set_enqueuer(None)


def published_article() -> int:
    """A public article, created and published through the services on the site's
    database; the site's worker indexes it."""
    from appliance.services import knowledge, knowledge_review
    from tests.factories import actor
    admin = actor("admin")
    v = knowledge.create_article(admin, knowledge.ArticleInput(
        title=TITLE, body="在订单页面点击 **申请退款**，填写退款原因后提交，三个工作日内到账。",
        language="zh", visibility="public", tags=["退款"]))
    return knowledge_review.transition(admin, v.id, "approve", expected_version=v.version).id


def wait_until_indexed(article_id: int, seconds: float = 30.0) -> None:
    from appliance.services import knowledge_search
    from tests.factories import actor
    customer, deadline = actor("zhangsan"), time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = knowledge_search.search_articles(customer, "退款", scope="portal", log=False)
        if article_id in [h.article.id for h in page.hits]:
            return
        time.sleep(0.5)
    raise AssertionError(f"article {article_id} not indexed within {seconds} s")


def test_a_customer_sees_a_suggestion_while_typing_and_records_a_deflection_instead_of_a_ticket(
        appliance_site, chromium, screenshots, to_worker):
    from appliance.models import ArticleUse, Ticket, User
    base, passwords = appliance_site
    article_id = published_article()
    wait_until_indexed(article_id)
    tickets_before = Ticket.select().count()
    page = chromium.new_context(locale="en-US").new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, base, "zhangsan", passwords["zhangsan"])

    page.goto(base + "/portal/new")
    page.locator("#new-ticket input[name=subject]").press_sequentially("我想申请退款", delay=40)
    item = page.locator(f"#kb-portal-list li[data-article-id='{article_id}']")
    item.wait_for(timeout=10_000)
    assert TITLE in item.inner_text()
    assert item.locator("mark").count() >= 1  # the matching words are marked
    page.screenshot(path=str(screenshots / "kb-01-portal-suggestion.png"), full_page=True)

    item.locator(".kb-solved-button").click()
    page.wait_for_url(f"**/portal/kb/{article_id}/solved?from=new")
    assert page.locator("#kb-thanks").is_visible()
    page.screenshot(path=str(screenshots / "kb-02-portal-deflected.png"), full_page=True)

    customer = User.get(User.username == "zhangsan").id
    rows = [(u.article_id, u.ticket_id, u.user_id) for u in
            ArticleUse.select().where(ArticleUse.kind == "deflection")]
    assert rows == [(article_id, None, customer)]
    assert Ticket.select().count() == tickets_before  # no ticket was submitted
    assert errors == [], errors  # CSP violations would show here


def test_an_agent_inserts_an_article_link_into_the_reply_and_the_reply_records_it(
        appliance_site, chromium, screenshots, to_worker):
    from appliance import runtime
    from appliance.models import ArticleUse, Comment, Department
    from appliance.services import knowledge_search, tickets
    from tests.factories import actor
    base, passwords = appliance_site
    found = knowledge_search.search_articles(actor("admin"), TITLE, log=False).hits
    article_id = found[0].article.id if found else published_article()
    wait_until_indexed(article_id)
    ticket_id = tickets.create_ticket(actor("admin"), tickets.TicketInput(
        subject="退款怎么申请", description="我想申请退款，请问在哪里操作？", channel="phone",
        department_id=Department.get(Department.code == "AS").id), runtime.settings()).summary.id
    page = chromium.new_context(locale="en-US").new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, base, "wangfang", passwords["wangfang"])

    page.goto(f"{base}/agent/tickets/{ticket_id}")
    button = page.locator(f"#kb-articles .kb-insert[data-kb-id='{article_id}'][data-kb-kind='link']")
    button.wait_for(timeout=10_000)
    assert page.locator("#kb-articles .kb-reason").first.is_visible()  # the reason is shown
    page.fill("#reply-body", "您好，")
    button.click()
    body = page.input_value("#reply-body")
    assert body.startswith("您好，\n") and f"/portal/kb/{article_id}" in body and TITLE in body
    assert page.input_value("#kb-uses") == f"{article_id}:link"
    page.screenshot(path=str(screenshots / "kb-03-agent-link-inserted.png"), full_page=True)

    page.click("#reply-submit")
    page.wait_for_load_state()
    comment = Comment.select().where(Comment.ticket == ticket_id).order_by(Comment.id.desc()).first()
    assert f"/portal/kb/{article_id}" in comment.body
    rows = [(u.article_id, u.kind, u.ticket_id, u.comment_id) for u in
            ArticleUse.select().where(ArticleUse.ticket == ticket_id)]
    assert rows == [(article_id, "link", ticket_id, comment.id)]
    assert errors == [], errors
