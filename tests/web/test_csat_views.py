"""Satisfaction surveys through the Flask test client: the public link page (a GET records
nothing; CSRF-protected POST; polite answered / expired / unknown pages; rate limit), the
portal's survey on the customer's ticket, and the results page and API with their scope."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from appliance.models import MailMessage, Survey, utcnow
from appliance.rules.access import SYSTEM
from appliance.services import csat, mailboxes, tickets
from tests.conftest import with_settings
from tests.web.apiclient import ApiClient, token_for
from tests.web.conftest import Browser
from webapp import create_app

TOKEN = re.compile(r"/survey/([A-Za-z0-9_-]+)\?r=")


@pytest.fixture
def resolved(settings, org):
    """A resolved ticket of 张三 in after-sales, worked by 王芳, and its mailed link token."""
    mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS")
    data = tickets.TicketInput(subject="打印机无法打印", department_id=org.after_sales,
                               customer_id=org.customer.customer_id, assignee_id=org.agent.user_id)
    ticket_id = tickets.create_ticket(SYSTEM, data, settings).summary.id
    tickets.transition_ticket(org.agent, ticket_id, "resolved", settings)
    row = MailMessage.get(MailMessage.kind.startswith("csat:"))
    text, _ = csat.mail_content(row, settings)     # what the send job mails
    return ticket_id, TOKEN.search(text).group(1)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_link_shows_the_clicked_score_and_records_nothing_until_sent(app, resolved):
    ticket_id, token = resolved
    b = Browser(app)
    r = b.get(f"/survey/{token}?r=4")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="rating-4" checked' in html
    assert r.headers["Referrer-Policy"] == "no-referrer" and "no-store" in r.headers["Cache-Control"]
    assert "GD-" not in html and "打印机" not in html        # nothing names the ticket
    assert Survey.get().answered_at is None
    r = b.client.post(f"/survey/{token}", data={"rating": "4", "comment": "",
                                                "csrf_token": csrf_of(html)})
    assert r.status_code == 200 and 'data-state="thanks"' in r.get_data(as_text=True)
    assert Survey.get().rating == 4 and Survey.get().answered_via == "link"


def test_a_post_without_the_csrf_token_is_refused_and_records_nothing(app, resolved):
    _, token = resolved
    b = Browser(app)
    b.get(f"/survey/{token}")
    r = b.client.post(f"/survey/{token}", data={"rating": "5"})
    assert r.status_code == 400 and Survey.get().answered_at is None
    html = b.get(f"/survey/{token}").get_data(as_text=True)
    r = b.client.post(f"/survey/{token}/comment", data={"comment": "x"})
    assert r.status_code == 400
    assert csrf_of(html)


def test_a_second_answer_and_a_second_comment_get_the_polite_answered_page(app, resolved):
    _, token = resolved
    b = Browser(app)
    csrf = csrf_of(b.get(f"/survey/{token}?r=5").get_data(as_text=True))
    assert b.client.post(f"/survey/{token}", data={"rating": "5", "csrf_token": csrf}).status_code == 200
    again = b.client.post(f"/survey/{token}", data={"rating": "1", "csrf_token": csrf})
    assert again.status_code == 409
    assert "already been answered" in again.get_data(as_text=True) and Survey.get().rating == 5
    page = b.get(f"/survey/{token}?r=1")
    assert page.status_code == 200 and "already been answered" in page.get_data(as_text=True)
    r = b.client.post(f"/survey/{token}/comment", data={"comment": "<script>alert(1)</script>很好",
                                                        "csrf_token": csrf})
    assert r.status_code == 200 and Survey.get().comment == "<script>alert(1)</script>很好"
    r = b.client.post(f"/survey/{token}/comment", data={"comment": "again", "csrf_token": csrf})
    assert r.status_code == 409 and Survey.get().comment.endswith("很好")


def test_bad_input_comes_back_with_the_field_marked(app, resolved):
    _, token = resolved
    b = Browser(app)
    csrf = csrf_of(b.get(f"/survey/{token}").get_data(as_text=True))
    r = b.client.post(f"/survey/{token}", data={"rating": "9", "comment": "嗯", "csrf_token": csrf})
    assert r.status_code == 400 and 'id="err-rating"' in r.get_data(as_text=True)
    r = b.client.post(f"/survey/{token}", data={"rating": "3", "comment": "长" * 2001,
                                                "csrf_token": csrf})
    assert r.status_code == 400 and 'id="err-comment"' in r.get_data(as_text=True)
    assert Survey.get().answered_at is None


def test_expired_and_unknown_links_get_polite_pages_without_a_trace(app, resolved):
    _, token = resolved
    b = Browser(app)
    for forged in ("nope", token[:-2] + "zz", "A" * 500):
        r = b.get(f"/survey/{forged}?r=5")
        html = r.get_data(as_text=True)
        assert r.status_code == 404 and "do not know this survey link" in html
        assert "Traceback" not in html and "GD-" not in html
    Survey.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
    r = b.get(f"/survey/{token}?r=5")
    assert r.status_code == 410 and "has expired" in r.get_data(as_text=True)
    csrf = csrf_of(b.get("/login").get_data(as_text=True))
    r = b.client.post(f"/survey/{token}", data={"rating": "5", "csrf_token": csrf})
    assert r.status_code == 410 and Survey.get().answered_at is None


def test_the_public_links_are_rate_limited_per_address(settings, org, resolved):
    _, token = resolved
    app = create_app(with_settings(settings, auth_rate_per_ip=3))
    app.config.update(TESTING=True)
    b = Browser(app)
    codes = [b.get(f"/survey/guess{n}").status_code for n in range(3)]
    r = b.get(f"/survey/{token}")
    assert codes == [404, 404, 404] and r.status_code == 429 and r.headers["Retry-After"]


def test_the_customer_answers_on_the_portal_ticket_page_and_no_one_else_can(
        app, resolved, login):
    ticket_id, _ = resolved
    zhangsan = login("zhangsan")
    page = zhangsan.get(f"/portal/tickets/{ticket_id}").get_data(as_text=True)
    assert 'id="survey-form"' in page
    survey_id = Survey.get().id
    lisi = login("lisi")
    r = lisi.post(f"/portal/tickets/{ticket_id}/survey/{survey_id}", {"rating": "1"},
                  csrf_from="/portal/")
    assert r.status_code == 404 and Survey.get().answered_at is None
    r = zhangsan.post(f"/portal/tickets/{ticket_id}/survey/{survey_id}", {"rating": "5"},
                      csrf_from=f"/portal/tickets/{ticket_id}")
    assert r.status_code == 302 and Survey.get().rating == 5
    page = zhangsan.get(f"/portal/tickets/{ticket_id}").get_data(as_text=True)
    assert 'id="survey-form"' not in page


def test_the_results_page_is_for_supervisors_and_escapes_comments(app, resolved, login):
    _, token = resolved
    csat.answer_by_token(token, 1, "<script>alert(1)</script>没修好", app.config["GONGDAN"])
    lead = login("lead")
    r = lead.get("/agent/reports/csat")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="csat-percent">0.0 %' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;没修好" in html and "<script>alert" not in html
    assert login("wangfang").get("/agent/reports/csat").status_code == 403
    r = lead.get("/agent/reports/csat?start=2026-03-10&end=2026-03-01")
    assert r.status_code == 400 and "must not be before the start date" in r.get_data(as_text=True)
    r = lead.get("/agent/reports/csat?start=2020-01-01&end=2020-01-31")
    assert r.status_code == 200 and 'id="csat-empty"' in r.get_data(as_text=True)


def test_the_results_api_answers_supervisors_and_refuses_agents(app, resolved, org):
    _, token = resolved
    csat.answer_by_token(token, 5, "", app.config["GONGDAN"])
    r = ApiClient(app, token_for("lead")).get("/reports/csat")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["overall"]["csat"] == 1.0 and body["overall"]["sent"] == 1 and not body["empty"]
    assert [f["key"] for f in body["by_agent"]] == ["王芳"]
    assert ApiClient(app, token_for("wangfang")).get("/reports/csat").status_code == 403
    r = ApiClient(app, token_for("lead")).get("/reports/csat?start=2026-02-02&end=2026-02-01")
    assert r.status_code == 400 and "end" in r.get_json()["error"]["details"]["fields"]



def test_an_nps_link_shows_the_0_to_10_question(app, settings, org):
    from appliance.services import nps
    mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS")
    data = tickets.TicketInput(subject="咨询", department_id=org.after_sales,
                               customer_id=org.customer.customer_id, assignee_id=org.agent.user_id)
    ticket_id = tickets.create_ticket(SYSTEM, data, settings).summary.id
    tickets.transition_ticket(org.agent, ticket_id, "resolved", settings)
    assert nps.send_due(settings) == 1
    text, _ = csat.mail_content(MailMessage.get(MailMessage.kind.startswith("nps:")), settings)
    token = TOKEN.search(text).group(1)
    b = Browser(app)
    html = b.get(f"/survey/{token}?r=9").get_data(as_text=True)
    assert 'id="rating-0"' in html and 'id="rating-9" checked' in html and 'id="rating-5"' in html
    r = b.client.post(f"/survey/{token}", data={"rating": "0", "csrf_token": csrf_of(html)})
    assert r.status_code == 200 and Survey.get(Survey.kind == "nps").rating == 0


def test_the_agent_sees_the_rating_and_the_follow_up_on_the_timeline(app, resolved, login):
    ticket_id, token = resolved
    csat.answer_by_token(token, 1, "还是坏的", app.config["GONGDAN"])
    html = login("wangfang").get(f"/agent/tickets/{ticket_id}").get_data(as_text=True)
    assert "satisfaction survey answered" in html and "low satisfaction rating" in html
    assert "还是坏的" in html                           # the customer's reply that reopened it
    page = login("zhangsan").get(f"/portal/tickets/{ticket_id}").get_data(as_text=True)
    assert "satisfaction survey answered" not in page    # internal events stay internal
