"""The web form's confirmation e-mail, delivered through a real SMTP relay on loopback
(aiosmtpd): the visitor gets the ticket number and the form's title, never their own text
(the address is unverified); a form with confirmations off sends none."""
from __future__ import annotations

import time

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs  # noqa: E402
from appliance.models import Job, Ticket  # noqa: E402
from appliance.rules.access import SYSTEM  # noqa: E402
from appliance.services import mailboxes, webforms  # noqa: E402
from tests.smtp_relay import relay, relay_settings  # noqa: E402,F401


@pytest.fixture
def settings(settings, relay):
    return relay_settings(settings, relay)


@pytest.fixture
def site(settings, org):
    mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS", name="售后")
    return webforms.save_form(SYSTEM, webforms.WebFormInput(
        slug="support", title="联系我们", department_id=org.after_sales))


def send(client, settings, **fields):
    body = {"name": "赵六", "email": "Zhao@Example.com", "subject": "打印机卡纸",
            "description": "第二层纸盒一直卡纸。", **fields,
            "form_token": webforms.issue_token("support", settings, now=time.time() - 5)}
    return client.post("/forms/support", data=body)


def run_send_jobs() -> int:
    return sum(jobs.run_job(j.id) for j in list(
        Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null()).order_by(Job.id)))


def test_the_visitor_gets_a_confirmation_with_the_ticket_number(app, settings, site, relay):
    r = send(app.test_client(), settings)
    assert r.status_code == 303
    number = Ticket.get().number
    run_send_jobs()
    assert len(relay.messages) == 1, "no confirmation was sent"
    m = relay.messages[0]
    assert m.rcpt_tos == ["zhao@example.com"]
    assert str(m.message["Subject"]) == f"[{number}] 我们已收到您的请求：联系我们"
    assert m.message["Auto-Submitted"] == "auto-replied"


def test_the_confirmation_repeats_nothing_the_visitor_typed(app, settings, site, relay):
    """Anyone may type anyone's address into the form: what they type must not reach it."""
    spam = "Cheap pills at pills.example"
    r = send(app.test_client(), settings, name=f"{spam} 先生", subject=spam,
             description=f"{spam}, visit now", lang="en")
    assert r.status_code == 303
    run_send_jobs()
    [m] = relay.messages
    parts = [p.get_content() for p in m.message.walk() if p.get_content_maintype() == "text"]
    shown = str(m.message["Subject"]) + "".join(parts)
    assert Ticket.get().number in shown and "联系我们" in shown
    assert "pills" not in shown.lower()


def test_no_confirmation_when_the_form_has_it_off_or_only_a_phone_was_given(
        app, settings, site, relay):
    client = app.test_client()
    assert send(client, settings, email="", phone="13800001111").status_code == 303
    webforms.save_form(SYSTEM, webforms.WebFormInput(slug="support", title="联系我们",
                                                     send_confirmation=False), form_id=site.id)
    assert send(client, settings).status_code == 303
    run_send_jobs()
    assert Ticket.select().count() == 2 and relay.messages == []
