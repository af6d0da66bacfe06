"""Public web forms through the real app: admin CRUD, the embeddable page, posting
(ticket + customer + attachment + confirmation), honeypot, rate limit, token checks,
and nothing half-stored when an attachment is refused."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest

from appliance.models import (Attachment, Customer, FormSubmission, Job, Ticket,
                              WebForm)
from appliance.rules.access import SYSTEM
from appliance.services import contacts, customer_names, webforms
from tests.conftest import with_settings

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
GOOD = {"name": "赵六", "email": "zhao@example.com", "phone": "", "subject": "打印机卡纸",
        "description": "第二层纸盒一直卡纸。"}


@pytest.fixture
def webform(org):
    return webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", intro="请描述问题", department_id=org.after_sales,
        embed_origins="https://www.example.com https://shop.example.com"))


@pytest.fixture
def visitor(app):
    """A client with no session at all, as a framed page on another site would be."""
    return app.test_client()


def token(settings, slug="support", age=10.0) -> str:
    return webforms.issue_token(slug, settings, now=time.time() - age)


def post(client, settings, data=None, files=(), slug="support", age=10.0, headers=None,
         addr="203.0.113.7"):
    body = {**GOOD, **(data or {}), "form_token": token(settings, slug, age)}
    if files:
        body["attachments"] = [(io.BytesIO(b), n) for n, b in files]
    return client.post(f"/forms/{slug}", data=body, content_type="multipart/form-data",
                       headers=headers or {}, environ_base={"REMOTE_ADDR": addr})


def zhao_known() -> bool:
    return contacts.exists("email", "zhao@example.com")


def stored_files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the page --------------------------------------------------------------------------------

def test_the_public_page_is_minimal_embeddable_by_its_origins_only_and_sets_no_cookie(
        visitor, webform):
    r = visitor.get("/forms/support")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "联系我们" in html and 'name="form_token"' in html and 'name="csrf_token"' not in html
    assert 'id="nav-mine"' not in html and "Log out" not in html  # no agent chrome
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors https://www.example.com https://shop.example.com;" in csp
    assert "X-Frame-Options" not in r.headers
    assert "Set-Cookie" not in r.headers
    # the honeypot is there for bots, hidden from people and assistive technology
    hp = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', html, re.S).group(0)
    assert 'tabindex="-1"' in hp and 'autocomplete="off"' in hp and 'name="website"' in hp


def test_a_form_without_origins_may_not_be_framed_and_other_pages_keep_deny(visitor, webform):
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="plain", title="Plain"))
    r = visitor.get("/forms/plain")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert visitor.get("/login").headers["X-Frame-Options"] == "DENY"


def test_language_comes_from_the_query_or_the_browser(visitor, webform):
    assert "Your name" in visitor.get("/forms/support?lang=en").get_data(as_text=True)
    zh = visitor.get("/forms/support", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "您的姓名" in zh.get_data(as_text=True) or 'lang="zh-CN"' in zh.get_data(as_text=True)
    en = visitor.get("/forms/support", headers={"Accept-Language": "en-US"})
    assert 'lang="en"' in en.get_data(as_text=True)


def test_unknown_and_inactive_forms_are_404(visitor, webform):
    assert visitor.get("/forms/nope").status_code == 404
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="support", title="x", active=False),
                       form_id=webform.id)
    assert visitor.get("/forms/support").status_code == 404


# --- posting ---------------------------------------------------------------------------------

def test_a_post_creates_customer_ticket_attachment_and_queues_the_confirmation(
        visitor, settings, webform, org):
    r = post(visitor, settings, {"lang": "en"}, files=[("照片.png", PNG)])
    assert r.status_code == 303, r.get_data(as_text=True)[:1500]
    t = Ticket.get()
    assert (t.channel, t.department_id, t.subject) == ("web", org.after_sales, "打印机卡纸")
    assert t.customer_id == contacts.owner("email", "zhao@example.com")
    assert customer_names.name_by_id(t.customer_id) == "赵六"
    assert [a.filename for a in Attachment.select().where(Attachment.ticket == t.id)] == ["照片.png"]
    sub = FormSubmission.get()
    assert (sub.outcome, sub.ticket_id) == ("accepted", t.id)
    assert "203.0.113.7" not in sub.client_hash and len(sub.client_hash) == 64
    assert Job.select().where((Job.name == "index_ticket") & (Job.object_id == t.id)).exists()
    page = visitor.get(r.headers["Location"])
    assert page.status_code == 200 and t.number in page.get_data(as_text=True)
    assert "frame-ancestors https://www.example.com" in page.headers["Content-Security-Policy"]


def test_an_existing_customer_is_matched_by_phone(visitor, settings, webform):
    from appliance.services.identity import find_or_create_customer
    known = find_or_create_customer("老客户", phone="+86 138 0000 1111")
    r = post(visitor, settings, {"email": "", "phone": "+8613800001111", "name": "别的名字"})
    assert r.status_code == 303
    assert Ticket.get().customer_id == known


def test_the_honeypot_answers_like_success_but_stores_no_ticket(visitor, settings, webform):
    r = post(visitor, settings, {"website": "http://spam.example"})
    assert r.status_code == 303
    assert "Thank you" in visitor.get(r.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert Ticket.select().count() == 0 and not zhao_known()
    assert [s.outcome for s in FormSubmission.select()] == ["honeypot"]


def test_too_many_posts_from_one_client_get_429_and_store_only_the_submission_row(
        app, settings, webform):
    s = with_settings(settings, webform_limit_per_hour=2)
    app.config["GONGDAN"] = s
    client = app.test_client()
    for i in range(2):
        assert post(client, s, {"subject": f"第{i}个"}).status_code == 303
    r = post(client, s, {"subject": "第三个", "lang": "en"})
    assert r.status_code == 429
    assert "try again later" in r.get_data(as_text=True)
    assert Ticket.select().count() == 2
    assert [x.outcome for x in FormSubmission.select().order_by(FormSubmission.id)] == [
        "accepted", "accepted", "rate_limited"]
    # another client is not affected
    assert post(client, s, {"subject": "别人"}, addr="198.51.100.1").status_code == 303


def test_behind_a_trusted_proxy_the_forwarded_client_counts_and_forged_hops_do_not(
        app, settings, webform):
    s = with_settings(settings, webform_limit_per_hour=1)
    app.config["GONGDAN"] = s
    client = app.test_client()
    via = {"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}  # nginx appended 203.0.113.9
    assert post(client, s, headers=via, addr="127.0.0.1").status_code == 303
    forged = {"X-Forwarded-For": "10.9.9.9, 203.0.113.9"}  # same client, other fake hop
    assert post(client, s, headers=forged, addr="127.0.0.1").status_code == 429
    other = {"X-Forwarded-For": "203.0.113.10"}
    assert post(client, s, headers=other, addr="127.0.0.1").status_code == 303
    # a client that is not a trusted proxy cannot choose its address with the header
    assert post(client, s, headers={"X-Forwarded-For": "1.2.3.4"},
                addr="198.51.100.5").status_code == 303
    assert post(client, s, headers={"X-Forwarded-For": "5.6.7.8"},
                addr="198.51.100.5").status_code == 429


def test_the_per_form_cap_per_minute_applies_to_all_clients(app, settings, webform):
    s = with_settings(settings, webform_form_limit_per_minute=2)
    app.config["GONGDAN"] = s
    client = app.test_client()
    assert post(client, s, addr="198.51.100.1").status_code == 303
    assert post(client, s, addr="198.51.100.2").status_code == 303
    assert post(client, s, addr="198.51.100.3").status_code == 429


@pytest.mark.parametrize("age,reason", [(0.2, "quick"), (3 * 3600, "expired")])
def test_a_too_fresh_or_expired_token_is_refused_and_the_form_comes_back_filled(
        visitor, settings, webform, age, reason):
    r = post(visitor, settings, {"lang": "en"}, age=age)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert reason in html and "打印机卡纸" in html and "第二层纸盒一直卡纸。" in html
    assert Ticket.select().count() == 0 and FormSubmission.select().count() == 0


def test_a_forged_or_other_forms_token_is_refused(visitor, settings, webform):
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="other", title="Other"))
    body = {**GOOD, "form_token": token(settings, slug="other")}
    assert visitor.post("/forms/support", data=body).status_code == 400
    body["form_token"] = "x" + token(settings)
    assert visitor.post("/forms/support", data=body).status_code == 400
    del body["form_token"]
    assert visitor.post("/forms/support", data=body).status_code == 400
    assert Ticket.select().count() == 0


def test_invalid_input_keeps_the_typed_values_with_messages_per_field(
        visitor, settings, webform):
    r = post(visitor, settings, {"email": "not-an-address", "subject": "", "lang": "en",
                                 "name": "<b>赵六</b>"}, files=[("a.png", PNG)])
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-email"' in html and "not a valid email address" in html
    assert 'id="err-subject"' in html and "required" in html
    assert "&lt;b&gt;赵六&lt;/b&gt;" in html and "<b>赵六</b>" not in html  # escaped, kept
    assert 'value="not-an-address"' in html
    assert "must be chosen again" in html
    assert Ticket.select().count() == 0 and not stored_files(settings)
    assert [s.outcome for s in FormSubmission.select()] == ["invalid"]


def test_e_mail_or_phone_is_required(visitor, settings, webform):
    r = post(visitor, settings, {"email": "", "phone": "", "lang": "en"})
    assert r.status_code == 400
    assert "give an e-mail address or a phone number" in r.get_data(as_text=True)


def test_a_refused_attachment_stores_nothing(visitor, settings, webform):
    r = post(visitor, settings, {"lang": "en"},
             files=[("ok.png", PNG), ("evil.png", b"<html><script>x</script></html>")])
    assert r.status_code == 415
    assert "evil.png: content does not match .png" in r.get_data(as_text=True)
    assert Ticket.select().count() == 0 and not zhao_known()
    assert Attachment.select().count() == 0 and not stored_files(settings)


def test_a_failure_inside_the_transaction_leaves_nothing_behind(
        visitor, settings, webform, monkeypatch):
    from appliance.services import mail_notify

    def broken(*a, **kw):
        raise RuntimeError("outbox down")
    monkeypatch.setattr(mail_notify, "queue_ticket_notice", broken)
    with pytest.raises(RuntimeError):
        webforms.submit("support", webforms.Submission(
            **{k: v for k, v in GOOD.items()}, uploads=[
                webforms.Upload("a.png", PNG)]), "203.0.113.1", settings,
            token=token(settings))
    assert Ticket.select().count() == 0 and not zhao_known()
    assert Attachment.select().count() == 0 and not stored_files(settings)
    assert FormSubmission.select().count() == 0


def test_attachments_are_refused_when_the_form_takes_none(visitor, settings, webform):
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="support", title="x",
                                                     allow_attachments=False),
                       form_id=webform.id)
    r = post(visitor, settings, {"lang": "en"}, files=[("a.png", PNG)])
    assert r.status_code == 400 and Ticket.select().count() == 0


def test_the_post_needs_no_session_csrf_token_but_other_forms_still_do(
        app, settings, webform, org):
    client = app.test_client()
    assert post(client, settings).status_code == 303
    r = client.post("/login", data={"username": "admin", "password": org.passwords["admin"]})
    assert r.status_code == 400  # the session CSRF check still guards everything else


# --- administration --------------------------------------------------------------------------

def test_an_admin_creates_edits_and_deletes_a_form(login, org):
    admin = login("admin")
    r = admin.post("/admin/forms/", {"slug": "shop", "title": "商城售后",
                                     "department_id": str(org.after_sales),
                                     "embed_origins": "https://shop.example.com/\nhttp://a.example:8080",
                                     "allow_attachments": "1", "active": "1"},
                   csrf_from="/admin/forms/")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    f = WebForm.get(WebForm.slug == "shop")
    assert f.embed_origins == ["https://shop.example.com", "http://a.example:8080"]
    assert f.send_confirmation is False and f.active is True
    assert "商城售后" in admin.get("/admin/forms/").get_data(as_text=True)
    r = admin.post(f"/admin/forms/{f.id}", {"slug": "shop", "title": "新标题", "active": "1"},
                   csrf_from=f"/admin/forms/{f.id}")
    assert r.status_code == 302 and WebForm.get_by_id(f.id).title == "新标题"
    admin.post(f"/admin/forms/{f.id}/delete", {"confirm": "1"}, csrf_from=f"/admin/forms/{f.id}")
    assert not WebForm.select().exists()


def test_the_admin_form_shows_a_message_per_field_and_keeps_values(login, org):
    admin = login("admin")
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="taken", title="T"))
    r = admin.post("/admin/forms/", {"slug": "taken", "title": "",
                                     "embed_origins": "javascript:alert(1)",
                                     "department_id": "999"}, csrf_from="/admin/forms/")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    for name in ("title", "embed_origins", "department_id"):
        assert f'id="err-{name}"' in html, name
    assert "javascript:alert(1)" in html
    r = admin.post("/admin/forms/", {"slug": "Bad Slug!", "title": "x"}, csrf_from="/admin/forms/")
    assert r.status_code == 400 and 'id="err-slug"' in r.get_data(as_text=True)
    r = admin.post("/admin/forms/", {"slug": "taken", "title": "x"}, csrf_from="/admin/forms/")
    assert "already used" in r.get_data(as_text=True)
    assert WebForm.select().count() == 1


@pytest.mark.parametrize("username", ["wangfang", "lead", "zhangsan"])
def test_only_admins_manage_forms(login, username, webform):
    b = login(username)
    assert b.get("/admin/forms/").status_code == 403
    assert b.get(f"/admin/forms/{webform.id}").status_code == 403


def test_the_admin_pages_render_in_chinese(login, org, webform):
    admin = login("admin")
    html = admin.get(f"/admin/forms/{webform.id}", headers={"Accept-Language": "zh-CN"}
                     ).get_data(as_text=True)
    assert "联系我们" in html and "<iframe" not in html  # the embed code is escaped text
