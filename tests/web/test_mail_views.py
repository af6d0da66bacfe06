"""The ticket page's e-mail panel and "Send again", through the real app and a real
SMTP server on loopback."""
from __future__ import annotations

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs  # noqa: E402
from appliance.models import Job  # noqa: E402
from appliance.models.mail import Mailbox, MailMessage  # noqa: E402
from appliance.services import comments, customers  # noqa: E402
from tests.factories import ticket  # noqa: E402
from tests.smtp_relay import relay, relay_settings  # noqa: E402,F401


@pytest.fixture
def settings(settings, relay):
    return relay_settings(settings, relay)


def send_jobs() -> None:
    for job in list(Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null()).order_by(Job.id)):
        jobs.run_job(job.id)


@pytest.fixture
def failed_mail(settings, org, relay):
    """An e-mail ticket whose reply the relay refused for good (550)."""
    Mailbox.create(address="support@example.com", name="Support", department=org.after_sales)
    c = customers.create_customer(org.agent, "赵六", contacts=[
        {"kind": "email", "value": "zhao@example.com"}])
    t = ticket(settings, org.agent, "打印机无法打印", channel="email", customer_id=c.id,
               department_id=org.after_sales).summary
    relay.answer = "550 5.1.1 no such mailbox"
    comments.add_comment(org.agent, t.id, "请重启打印机。", settings)
    send_jobs()
    row = MailMessage.get(MailMessage.ticket == t.id, MailMessage.direction == "out")
    assert row.status == "failed"
    relay.answer = None
    return t, row


def test_a_failed_reply_shows_on_the_ticket_and_send_again_delivers_it(
        login, failed_mail, relay):
    t, row = failed_mail
    agent = login("wangfang")
    page = agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert 'id="mail-status"' in page and "Not delivered" in page
    assert "recipient refused (550)" in page and "Send again" in page
    assert "e-mail reply not sent" in page  # the internal timeline event

    r = agent.post(f"/agent/tickets/{t.id}/mail/{row.id}/retry",
                   csrf_from=f"/agent/tickets/{t.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/agent/tickets/{t.id}#mail-status")
    send_jobs()
    assert [m.rcpt_tos for m in relay.messages] == [["zhao@example.com"]]
    page = agent.get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert "Sent" in page and "Send again" not in page


def test_send_again_is_refused_without_csrf_or_outside_ones_scope(login, failed_mail, relay):
    t, row = failed_mail
    agent = login("wangfang")
    r = agent.client.post(f"/agent/tickets/{t.id}/mail/{row.id}/retry")
    assert r.status_code in (400, 403)
    other = login("lilei")  # logistics: cannot see an after-sales ticket
    r = other.post(f"/agent/tickets/{t.id}/mail/{row.id}/retry")
    assert r.status_code == 404
    customer = login("zhangsan")
    r = customer.post(f"/agent/tickets/{t.id}/mail/{row.id}/retry", csrf_from="/portal/")
    assert r.status_code in (403, 404)
    assert MailMessage.get_by_id(row.id).status == "failed"


def test_tickets_without_mail_show_no_panel(login, settings, org):
    t = ticket(settings, org.agent, "网页工单").summary
    page = login("wangfang").get(f"/agent/tickets/{t.id}").get_data(as_text=True)
    assert 'id="mail-status"' not in page
