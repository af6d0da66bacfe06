"""The customer portal: sign-up, my tickets, submitting, following and answering a ticket."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from appliance.models import Attachment, Comment, Ticket
from appliance.services import comments, org as org_service, tickets
from appliance.services.attachments import Upload
from appliance.rules.access import SYSTEM
from tests.conftest import with_settings
from tests.factories import ticket as make_ticket
from tests.web.conftest import Browser
from webapp import create_app

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


def files(*items):
    """Form values for the `attachments` file input: (name, bytes) pairs."""
    return [(io.BytesIO(data), name) for name, data in items]


def stored_files(settings) -> list[Path]:
    root = Path(settings.attachment_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def ticket_id_of(response) -> int:
    m = re.search(r"/portal/tickets/(\d+)$", response.headers["Location"])
    assert m, response.headers.get("Location")
    return int(m.group(1))


@pytest.fixture
def zhangsan(login):
    return login("zhangsan")


# --- access -------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_login_page(browser, org):
    r = browser().get("/portal/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("username", ["wangfang", "lead", "admin"])
def test_staff_visiting_the_portal_are_redirected_to_the_agent_queue(login, username):
    r = login(username).get("/portal/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/agent/")


def test_a_customer_logging_in_lands_on_my_tickets(zhangsan):
    r = zhangsan.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/")
    page = zhangsan.get("/portal/")
    assert page.status_code == 200 and "My tickets" in page.get_data(as_text=True)


def test_state_changes_without_a_csrf_token_are_refused(zhangsan, settings):
    r = zhangsan.client.post("/portal/new", data={"subject": "no token"})
    assert r.status_code == 400
    assert Ticket.select().count() == 0


# --- sign-up --------------------------------------------------------------------------------

def signup_form(**overrides) -> dict:
    form = {"username": "wangwu", "display_name": "王五", "email": "wangwu@example.com",
            "password": "Ein-langes-Passwort", "confirm_password": "Ein-langes-Passwort"}
    form.update(overrides)
    return form


def test_a_visitor_signs_up_and_is_logged_in_on_the_portal(browser, org):
    b = browser()
    assert b.get("/portal/signup").status_code == 200
    r = b.post("/portal/signup", signup_form(), csrf_from="/portal/signup")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/")
    page = b.get("/portal/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "王五" in html and "Welcome! Your account is ready." in html


@pytest.mark.parametrize("overrides, field, message", [
    ({"password": "short", "confirm_password": "short"}, "password", "at least 12 characters"),
    ({"email": "not-an-email"}, "email", "not a valid email address"),
    ({"username": "a"}, "username", "2-64 letters, digits or . _ @ -"),
    ({"display_name": "  "}, "display_name", "required"),
    ({"confirm_password": "something else"}, "confirm_password", "The two passwords differ."),
    ({"username": "zhangsan"}, "username", "already taken"),
])
def test_sign_up_errors_re_render_the_form_with_the_field_message(browser, org, overrides, field,
                                                                   message):
    b = browser()
    r = b.post("/portal/signup", signup_form(**overrides), csrf_from="/portal/signup")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert f'id="err-{field}"' in html and message in html
    assert "Ein-langes-Passwort" not in html  # passwords are never echoed back


def test_the_sign_up_page_sends_a_logged_in_user_home(zhangsan):
    r = zhangsan.get("/portal/signup")
    assert r.status_code == 302


def test_a_script_tag_in_the_sign_up_name_is_escaped(browser, org):
    b = browser()
    r = b.post("/portal/signup", signup_form(display_name="<script>alert(1)</script>",
                                             password="x"), csrf_from="/portal/signup")
    html = r.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


# --- my tickets -----------------------------------------------------------------------------

def test_my_tickets_lists_only_my_own_tickets(zhangsan, org, settings):
    make_ticket(settings, org.customer, "张三的打印机")
    make_ticket(settings, org.other_customer, "李四的路由器")
    html = zhangsan.get("/portal/").get_data(as_text=True)
    assert "张三的打印机" in html and "李四的路由器" not in html


def test_my_tickets_pages_through_older_tickets_with_a_cursor(zhangsan, org, settings):
    for i in range(27):
        make_ticket(settings, org.customer, f"ticket {i:02d}")
    first = zhangsan.get("/portal/").get_data(as_text=True)
    assert "ticket 26" in first and "ticket 01" not in first
    cursor = re.search(r'href="/portal/\?cursor=([^"]+)"', first).group(1)
    second = zhangsan.get(f"/portal/?cursor={cursor}").get_data(as_text=True)
    assert "ticket 01" in second and "ticket 00" in second and "ticket 26" not in second
    assert 'id="next-page"' not in second


def test_a_forged_paging_cursor_is_a_bad_request(zhangsan):
    assert zhangsan.get("/portal/?cursor=!!!").status_code == 400


# --- submitting -----------------------------------------------------------------------------

@pytest.fixture
def catalog(settings, org):
    hardware = org_service.save_category(SYSTEM, "硬件")
    retired = org_service.save_category(SYSTEM, "旧产品", active=False)
    org_service.save_custom_field(SYSTEM, "serial", "Serial number", "text", required=True)
    org_service.save_custom_field(SYSTEM, "model", "Model", "select", options=["A1", "B2"])
    org_service.save_custom_field(SYSTEM, "parts", "Parts", "multiselect",
                                  options=["screen", "battery"])
    org_service.save_custom_field(SYSTEM, "secret", "Old field", "text", active=False)
    return hardware, retired


def test_the_new_ticket_form_offers_active_categories_and_custom_fields_only(zhangsan, catalog):
    html = zhangsan.get("/portal/new").get_data(as_text=True)
    assert "硬件" in html and "旧产品" not in html
    assert 'name="cf.serial"' in html and 'name="cf.model"' in html
    assert 'name="cf.parts"' in html and "cf.secret" not in html
    assert 'enctype="multipart/form-data"' in html


def test_a_customer_submits_a_ticket_with_custom_fields_and_an_attachment(zhangsan, catalog,
                                                                          settings):
    hardware, _ = catalog
    r = zhangsan.post("/portal/new", {
        "subject": "屏幕不亮", "description": "开机后黑屏", "category_id": str(hardware.id),
        "cf.serial": "SN-1", "cf.model": "B2", "cf.parts": ["screen", "battery"],
        "attachments": files(("照片.png", PNG))})
    assert r.status_code == 302
    t = Ticket.get_by_id(ticket_id_of(r))
    assert t.subject == "屏幕不亮" and t.channel == "web" and t.category_id == hardware.id
    assert t.custom_fields == {"serial": "SN-1", "model": "B2", "parts": ["battery", "screen"]}
    a = Attachment.get()
    assert a.ticket_id == t.id and a.filename == "照片.png" and not a.internal
    assert len(stored_files(settings)) == 1
    page = zhangsan.get(f"/portal/tickets/{t.id}").get_data(as_text=True)
    assert "照片.png" in page and f"/portal/attachments/{a.id}" in page
    assert "Serial number" in page and "SN-1" in page


def test_a_ticket_without_a_subject_re_renders_the_form_with_the_message(zhangsan, catalog):
    r = zhangsan.post("/portal/new", {"subject": "", "description": "keep me",
                                      "cf.serial": "SN-9"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-subject"' in html and "required" in html
    assert "keep me" in html and 'value="SN-9"' in html
    assert Ticket.select().count() == 0


def test_a_missing_required_custom_field_is_reported_under_its_name(zhangsan, catalog):
    r = zhangsan.post("/portal/new", {"subject": "x", "cf.model": "Z9"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-custom_fields-serial"' in html and 'id="err-custom_fields-model"' in html
    assert "must be one of: A1, B2" in html


def test_an_inactive_category_cannot_be_chosen(zhangsan, catalog):
    _, retired = catalog
    r = zhangsan.post("/portal/new", {"subject": "x", "cf.serial": "1",
                                      "category_id": str(retired.id)})
    assert r.status_code == 400 and 'id="err-category_id"' in r.get_data(as_text=True)


def test_an_oversized_upload_is_refused_with_413_and_nothing_is_stored(zhangsan, settings):
    big = PNG + b"\x00" * settings.max_attachment_bytes
    r = zhangsan.post("/portal/new", {"subject": "big", "attachments": files(("big.png", big))})
    assert r.status_code == 413
    assert "big.png" in r.get_data(as_text=True)
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize("name, data", [
    ("page.png", b"<html><script>alert(1)</script></html>"),   # content is not a PNG
    ("tool.exe", b"MZ\x90\x00" + b"\x00" * 60),                 # type not allowed
])
def test_a_refused_file_type_gives_415_and_nothing_is_stored(zhangsan, settings, name, data):
    r = zhangsan.post("/portal/new", {"subject": "files",
                                      "attachments": files(("ok.png", PNG), (name, data))})
    assert r.status_code == 415
    assert 'id="err-attachments"' in r.get_data(as_text=True)
    assert Ticket.select().count() == 0 and Attachment.select().count() == 0
    assert stored_files(settings) == []


# --- the ticket page ------------------------------------------------------------------------

@pytest.fixture
def my_ticket(settings, org):
    return make_ticket(settings, org.customer, "打印机卡纸", description="第一页就卡住").summary.id


def test_the_ticket_page_shows_public_replies_but_nothing_internal(zhangsan, org, settings,
                                                                   my_ticket):
    comments.add_comment(org.agent, my_ticket, "INTERNAL-NOTE-TEXT", settings, internal=True,
                         uploads=[Upload("internal-scan.png", PNG)])
    comments.add_comment(org.agent, my_ticket, "请重启打印机", settings,
                         uploads=[Upload("guide.png", PNG)])
    tickets.update_ticket(org.agent, my_ticket, {"priority": 1, "tags": ["vip"]}, settings)
    html = zhangsan.get(f"/portal/tickets/{my_ticket}").get_data(as_text=True)
    assert "第一页就卡住" in html and "请重启打印机" in html and "guide.png" in html
    assert "INTERNAL-NOTE-TEXT" not in html and "internal-scan.png" not in html
    assert "vip" not in html and "P1" not in html


def test_another_customer_gets_404_for_my_ticket_and_its_attachment(login, org, settings,
                                                                      my_ticket):
    comments.add_comment(org.customer, my_ticket, "见附件", settings,
                         uploads=[Upload("receipt.png", PNG)])
    attachment_id = Attachment.get().id
    lisi = login("lisi")
    assert lisi.get(f"/portal/tickets/{my_ticket}").status_code == 404
    assert lisi.get(f"/portal/attachments/{attachment_id}").status_code == 404
    assert lisi.post(f"/portal/tickets/{my_ticket}/reply", {"body": "hi"}).status_code == 404
    assert lisi.post(f"/portal/tickets/{my_ticket}/close").status_code == 404
    assert Comment.select().count() == 1


def test_an_internal_attachment_is_404_for_the_customer(zhangsan, org, settings, my_ticket):
    comments.add_comment(org.agent, my_ticket, "note", settings, internal=True,
                         uploads=[Upload("internal.png", PNG)])
    assert zhangsan.get(f"/portal/attachments/{Attachment.get().id}").status_code == 404


def test_unknown_tickets_and_attachments_are_404(zhangsan):
    assert zhangsan.get("/portal/tickets/999999").status_code == 404
    assert zhangsan.get("/portal/attachments/999999").status_code == 404


def test_an_attachment_downloads_with_an_rfc5987_filename_and_nosniff(zhangsan, org, settings,
                                                                      my_ticket):
    comments.add_comment(org.customer, my_ticket, "", settings,
                         uploads=[Upload("发票 2024.png", PNG)])
    r = zhangsan.get(f"/portal/attachments/{Attachment.get().id}")
    assert r.status_code == 200 and r.data == PNG
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E5%8F%91%E7%A5%A8%202024.png" in disposition
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Type"] == "image/png"


def test_script_tags_in_subject_description_and_replies_are_escaped(zhangsan, org, settings):
    evil = "<script>alert('x')</script>"
    tid = make_ticket(settings, org.customer, evil, description=evil).summary.id
    comments.add_comment(org.agent, tid, evil, settings)
    for path in ("/portal/", f"/portal/tickets/{tid}"):
        html = zhangsan.get(path).get_data(as_text=True)
        assert evil not in html and "&lt;script&gt;" in html


def test_a_customer_replies_with_an_attachment(zhangsan, settings, my_ticket):
    r = zhangsan.post(f"/portal/tickets/{my_ticket}/reply",
                      {"body": "补充照片", "attachments": files(("photo.png", PNG))})
    assert r.status_code == 302
    c = Comment.get()
    assert c.body == "补充照片" and c.author_kind == "customer" and not c.internal
    assert Attachment.get().comment_id == c.id
    html = zhangsan.get(f"/portal/tickets/{my_ticket}").get_data(as_text=True)
    assert "补充照片" in html and "photo.png" in html and "Your reply was sent." in html


def test_an_empty_reply_re_renders_the_page_with_the_field_message(zhangsan, my_ticket):
    r = zhangsan.post(f"/portal/tickets/{my_ticket}/reply", {"body": "  "})
    assert r.status_code == 400 and 'id="err-body"' in r.get_data(as_text=True)
    assert Comment.select().count() == 0


def test_a_reply_with_a_refused_file_stores_nothing(zhangsan, settings, my_ticket):
    r = zhangsan.post(f"/portal/tickets/{my_ticket}/reply",
                      {"body": "keep this text", "attachments": files(("x.exe", b"MZ"))})
    assert r.status_code == 415
    assert "keep this text" in r.get_data(as_text=True)
    assert Comment.select().count() == 0 and Attachment.select().count() == 0
    assert stored_files(settings) == []


def test_a_customer_closes_the_ticket_and_a_reply_within_the_window_reopens_it(zhangsan,
                                                                                my_ticket):
    page = zhangsan.get(f"/portal/tickets/{my_ticket}").get_data(as_text=True)
    assert 'id="close-form"' in page
    r = zhangsan.post(f"/portal/tickets/{my_ticket}/close")
    assert r.status_code == 302 and Ticket.get_by_id(my_ticket).status == "closed"
    page = zhangsan.get(f"/portal/tickets/{my_ticket}").get_data(as_text=True)
    assert "Replying will reopen this ticket." in page and 'id="close-form"' not in page
    zhangsan.post(f"/portal/tickets/{my_ticket}/reply", {"body": "还是不行"})
    assert Ticket.get_by_id(my_ticket).status == "open"


def test_closing_a_closed_ticket_again_is_a_conflict(zhangsan, my_ticket):
    zhangsan.post(f"/portal/tickets/{my_ticket}/close")
    r = zhangsan.post(f"/portal/tickets/{my_ticket}/close")
    assert r.status_code == 409 and "This ticket cannot be closed now." in r.get_data(as_text=True)


def test_a_ticket_closed_outside_the_reopen_window_cannot_be_answered(settings, org):
    app = create_app(with_settings(settings, reopen_window_days=0))
    app.config.update(TESTING=True)
    b = Browser(app)
    b.login("zhangsan", org.passwords["zhangsan"])
    tid = make_ticket(settings, org.customer, "旧问题").summary.id
    tickets.transition_ticket(org.customer, tid, "closed", settings)
    page = b.get(f"/portal/tickets/{tid}").get_data(as_text=True)
    assert 'id="closed-note"' in page and 'id="reply-form"' not in page
    r = b.post(f"/portal/tickets/{tid}/reply", {"body": "再问一次"})
    assert r.status_code == 409 and "please open a new ticket" in r.get_data(as_text=True)
    assert Ticket.get_by_id(tid).status == "closed" and Comment.select().count() == 0
