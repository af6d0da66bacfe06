"""Replies, notes, attachments and the status changes they cause."""
from pathlib import Path

import pytest

from appliance.errors import NotFound, PayloadTooLarge, PermissionDenied, UnsupportedMediaType
from appliance.models import Attachment, Comment
from appliance.services import attachments, comments, tickets
from appliance.services.attachments import Upload
from appliance.services.tickets import TicketInput
from tests.conftest import with_settings
from tests.factories import make_org

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


@pytest.fixture
def org(settings):
    return make_org()


@pytest.fixture
def customer_ticket(settings, org):
    return tickets.create_ticket(org.customer, TicketInput(subject="屏幕坏了"), settings)


def test_the_first_public_agent_reply_opens_the_ticket_and_sets_first_response(settings, org,
                                                                              customer_ticket):
    tid = customer_ticket.summary.id
    comments.add_comment(org.agent, tid, "内部备注", settings, internal=True)
    d = tickets.get_ticket(org.agent, tid, settings)
    assert d.summary.status == "new" and d.first_response_at is None
    comments.add_comment(org.agent, tid, "您好，我们来处理", settings)
    d = tickets.get_ticket(org.agent, tid, settings)
    assert d.summary.status == "open" and d.first_response_at is not None


def test_customers_never_see_internal_notes_events_or_attachments(settings, org, customer_ticket):
    tid = customer_ticket.summary.id
    comments.add_comment(org.agent, tid, "secret note", settings, internal=True,
                         uploads=[Upload("internal.png", PNG)])
    comments.add_comment(org.agent, tid, "public reply", settings)
    d = tickets.get_ticket(org.customer, tid, settings)
    assert [c.body for c in d.comments] == ["public reply"]
    assert d.attachments == [] and all(not e.internal for e in d.events)
    hidden = Attachment.get().id
    with pytest.raises(NotFound):
        attachments.open_attachment(org.customer, hidden, settings)


def test_customers_cannot_write_internal_notes(settings, org, customer_ticket):
    with pytest.raises(PermissionDenied):
        comments.add_comment(org.customer, customer_ticket.summary.id, "x", settings, internal=True)


def test_a_customer_reply_brings_a_pending_ticket_back_to_open(settings, org, customer_ticket):
    tid = customer_ticket.summary.id
    tickets.transition_ticket(org.agent, tid, "pending_customer", settings)
    comments.add_comment(org.customer, tid, "这是照片", settings)
    assert tickets.get_ticket(org.agent, tid, settings).summary.status == "open"


def test_a_customer_reply_reopens_a_resolved_ticket_within_the_window(settings, org, customer_ticket):
    tid = customer_ticket.summary.id
    tickets.transition_ticket(org.agent, tid, "resolved", settings)
    comments.add_comment(org.customer, tid, "还是坏的", settings)
    d = tickets.get_ticket(org.agent, tid, settings)
    assert d.summary.status == "open" and "reopened" in [e.kind for e in d.events]


def test_attachments_are_stored_under_random_names_outside_the_web_root(settings, org,
                                                                       customer_ticket):
    c = comments.add_comment(org.customer, customer_ticket.summary.id, "截图", settings,
                             uploads=[Upload("../../etc/截图.png", PNG)])
    a = Attachment.get_by_id(c.attachments[0].id)
    assert a.filename == "截图.png" and len(a.storage_name) == 48
    stored = list(Path(settings.attachment_dir).rglob("*"))
    assert any(p.name == a.storage_name for p in stored)
    _, data = attachments.open_attachment(org.customer, a.id, settings)
    assert data == PNG


@pytest.mark.parametrize("upload,error", [
    (Upload("big.txt", b"x" * 2048), PayloadTooLarge),
    (Upload("run.exe", b"MZ" + b"\x00" * 100), UnsupportedMediaType),
    (Upload("fake.png", b"<html><script>alert(1)</script>"), UnsupportedMediaType),
    (Upload("fake.pdf", PNG), UnsupportedMediaType),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(settings, org, customer_ticket, upload, error):
    small = with_settings(settings, max_attachment_bytes=1024)
    with pytest.raises(error):
        comments.add_comment(org.customer, customer_ticket.summary.id, "file", small,
                             uploads=[Upload("ok.png", PNG), upload])
    assert Comment.select().count() == 0 and Attachment.select().count() == 0
    assert not [p for p in Path(settings.attachment_dir).rglob("*") if p.is_file()]


def test_a_failed_transaction_removes_the_files_it_wrote(settings, org, customer_ticket):
    tickets.transition_ticket(org.agent, customer_ticket.summary.id, "closed", settings)
    from appliance.models import Ticket
    import datetime as dt
    Ticket.update(closed_at=dt.datetime(2000, 1, 1)).execute()
    with pytest.raises(Exception):
        comments.add_comment(org.customer, customer_ticket.summary.id, "again", settings,
                             uploads=[Upload("a.png", PNG)])
    assert not [p for p in Path(settings.attachment_dir).rglob("*") if p.is_file()]
    assert Attachment.select().count() == 0


def test_staff_of_another_department_cannot_reply(settings, org):
    t = tickets.create_ticket(org.agent, TicketInput(subject="x", department_id=org.after_sales),
                              settings)
    with pytest.raises(NotFound):
        comments.add_comment(org.agent2, t.summary.id, "hi", settings)


def _zip(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def test_an_archive_bomb_is_refused_and_an_ordinary_zip_accepted(settings, org, customer_ticket):
    bomb = _zip({"zeros.bin": b"\x00" * (60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    with pytest.raises(UnsupportedMediaType):
        comments.add_comment(org.customer, customer_ticket.summary.id, "logs", settings,
                             uploads=[Upload("logs.zip", bomb)])
    many = _zip({f"f{i}.txt": b"x" for i in range(2001)})
    with pytest.raises(UnsupportedMediaType):
        comments.add_comment(org.customer, customer_ticket.summary.id, "logs", settings,
                             uploads=[Upload("many.zip", many)])
    ok = _zip({"app.log": "\n".join(f"line {i} error code {i % 7}" for i in range(2000)).encode()})
    c = comments.add_comment(org.customer, customer_ticket.summary.id, "logs", settings,
                             uploads=[Upload("logs.zip", ok)])
    assert c.attachments[0].content_type == "application/zip"
