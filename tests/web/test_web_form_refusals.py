"""The public form through the real app, on SQLite and PostgreSQL: a double click or a
resubmit gets the first post's confirmation and stores nothing; a used token with another
post, or an old one, comes back as the form; every refusal (400, 413, 415, 429, and a body
over max_request_bytes that Flask refuses before the view reads it) is the form page
again with its message beside the field, the form's own frame-ancestors and nothing
stored."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest

from appliance.models import Attachment, Customer, FormSubmission, Job, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import webform_tokens, webforms
from tests.conftest import with_settings
from webapp import create_app

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
GOOD = {"name": "赵六", "email": "zhao@example.com", "phone": "", "subject": "打印机卡纸",
        "description": "第二层纸盒一直卡纸。", "lang": "en"}
FRAMED = "frame-ancestors https://www.example.com https://shop.example.com;"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def webform(org):
    return webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", department_id=org.after_sales,
        embed_origins="https://www.example.com https://shop.example.com"))


def token(settings, age=10.0) -> str:
    return webforms.issue_token("support", settings, now=time.time() - age)


def body(settings, tok=None, files=(), **fields) -> dict:
    data = {**GOOD, **fields, "form_token": tok or token(settings)}
    if files:
        data["attachments"] = [(io.BytesIO(b), n) for n, b in files]
    return data


def post(client, data, url="/forms/support", addr="203.0.113.7", follow=False):
    data = {k: ([(io.BytesIO(f.getvalue()), n) for f, n in v] if k == "attachments" else v)
            for k, v in data.items()}  # the same bytes again for each post
    return client.post(url, data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": addr}, follow_redirects=follow)


def stored(settings) -> tuple:
    root = Path(settings.attachment_dir)
    files = len([p for p in root.rglob("*") if p.is_file()]) if root.exists() else 0
    return (Ticket.select().count(), Customer.select().count(), Attachment.select().count(),
            Job.select().count(), files)


def number_on(client, response) -> str:
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and FRAMED in page.headers["Content-Security-Policy"]
    return re.search(r'id="ticket-number">([^<]+)<', page.get_data(as_text=True)).group(1)


def assert_form_page(r, status: int, field: str, text: str):
    assert r.status_code == status
    assert FRAMED in r.headers["Content-Security-Policy"] and "X-Frame-Options" not in r.headers
    html = r.get_data(as_text=True)
    assert 'id="web-form"' in html and 'name="form_token"' in html
    if field == "form":
        assert text in re.search(r'id="form-errors">(.*?)</div>', html, re.DOTALL).group(1)
    else:
        assert text in re.search(rf'id="err-{field}">(.*?)</div>', html, re.DOTALL).group(1)
    return html


# --- one token, one ticket --------------------------------------------------------------

def test_a_double_click_gets_the_same_confirmation_and_stores_one_ticket(
        app, settings, webform):
    client, data = app.test_client(), body(settings, files=[("照片.png", PNG)])
    first = post(client, data)
    assert first.status_code == 303, first.get_data(as_text=True)[:1000]
    before = stored(settings)
    assert before[0] == 1 and before[2] == 1 and before[4] == 1
    second = post(client, data, addr="198.51.100.9")  # the same post from a new address
    assert second.status_code == 303 and "/forms/support/thanks" in second.headers["Location"]
    assert number_on(client, second) == number_on(client, first) == Ticket.get().number
    page = post(client, data, follow=True)  # what the browser shows: the thank-you page
    assert page.status_code == 200 and Ticket.get().number in page.get_data(as_text=True)
    assert stored(settings) == before
    assert [s.outcome for s in FormSubmission.select()] == ["accepted"]


def test_a_used_token_with_another_post_comes_back_as_the_form(app, settings, webform):
    client, tok = app.test_client(), token(settings)
    assert post(client, body(settings, tok)).status_code == 303
    before = stored(settings)
    r = post(client, body(settings, tok, subject="另一个问题"))
    html = assert_form_page(r, 400, "form", "This form was sent already")
    assert "另一个问题" in html and tok not in html  # kept, with a new token
    assert stored(settings) == before and FormSubmission.select().count() == 1


def test_a_replay_after_the_token_lifetime_opens_nothing(app, settings, webform, monkeypatch):
    client, data = app.test_client(), body(settings)
    assert post(client, data).status_code == 303
    before = stored(settings)

    class TwoHoursLater:  # the token's clock only; signatures and the database keep theirs
        @staticmethod
        def time():
            return time.time() + webforms.TOKEN_MAX_AGE + 5
    monkeypatch.setattr(webform_tokens, "time", TwoHoursLater)
    assert_form_page(post(client, data), 400, "form", "The form had expired")
    assert stored(settings) == before and FormSubmission.select().count() == 1


# --- refusals: the form again, framed, nothing stored -----------------------------------

@pytest.mark.parametrize("fields,files,status,field,text", [
    ({"subject": ""}, (), 400, "subject", "required"),
    ({}, [("evil.png", b"<html><script>x</script></html>")], 415, "attachments",
     "evil.png: content does not match .png"),
    ({}, [("big.png", PNG + b"\x00" * 70_000)], 413, "attachments", "big.png: larger than"),
], ids=["invalid", "wrong-type", "file-too-large"])
def test_a_refused_post_is_the_framed_form_again_with_the_message_beside_the_field(
        app, settings, webform, fields, files, status, field, text):
    app.config["GONGDAN"] = with_settings(settings, max_attachment_bytes=64 * 1024)
    before = stored(settings)
    r = post(app.test_client(), body(settings, files=files, **fields))
    html = assert_form_page(r, status, field, text)
    assert "第二层纸盒一直卡纸。" in html and "must be chosen again" in html
    assert stored(settings) == before
    assert [s.outcome for s in FormSubmission.select()] == ["invalid"]  # counts, as before


def test_over_the_limit_the_form_comes_back_filled_with_429(app, settings, webform):
    s = with_settings(settings, webform_limit_per_hour=1)
    app.config["GONGDAN"] = s
    client = app.test_client()
    assert post(client, body(s)).status_code == 303
    before = stored(settings)
    r = post(client, body(s, subject="第二个"))
    html = assert_form_page(r, 429, "form", "Please try again later.")
    assert "第二个" in html and stored(settings) == before
    assert [x.outcome for x in FormSubmission.select().order_by(FormSubmission.id)] == [
        "accepted", "rate_limited"]


@pytest.fixture
def small_app(settings):
    """The app with a 64 KiB request limit (MAX_CONTENT_LENGTH)."""
    app = create_app(with_settings(settings, max_request_bytes=64 * 1024))
    app.config.update(TESTING=True)
    return app


def test_a_body_over_the_request_limit_is_the_framed_form_page_not_the_error_page(
        small_app, settings, webform):
    client, nothing = small_app.test_client(), stored(settings)
    r = post(client, body(settings, files=[("huge.png", PNG + b"\x00" * 100_000)]),
             url="/forms/support?lang=zh_CN")
    html = assert_form_page(r, 413, "attachments", "64 KB")
    assert 'lang="zh-CN"' in html and "发送" in html  # the language of the form's URL
    assert 'name="name"' in html and "赵六" not in html  # a body not read cannot come back
    assert stored(settings) == nothing and not FormSubmission.select().exists()
    en = post(client, body(settings, files=[("huge.png", PNG + b"\x00" * 100_000)]),
              url="/forms/support?lang=en")
    assert_form_page(en, 413, "attachments", "Too much to send at once")


def test_a_too_large_body_to_a_form_without_attachments_gets_the_message_on_top(
        small_app, settings, webform):
    webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", allow_attachments=False,
        embed_origins="https://www.example.com https://shop.example.com"), form_id=webform.id)
    nothing = stored(settings)
    r = post(small_app.test_client(), body(settings, description="长" * 40_000),
             url="/forms/support?lang=en")
    html = assert_form_page(r, 413, "form", "The message is too large to send")
    assert 'type="file"' not in html and stored(settings) == nothing


def test_a_too_large_body_elsewhere_keeps_the_generic_pages(small_app, settings, webform):
    client = small_app.test_client()
    big = {"description": "x" * 100_000}
    r = post(client, big, url="/forms/nope")
    assert r.status_code == 404 and "frame-ancestors 'none'" in r.headers[
        "Content-Security-Policy"]
    assert post(client, big, url="/login").status_code == 413
