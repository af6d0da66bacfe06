import datetime as dt
from email import policy
from email.parser import BytesParser

import pytest

from appliance.errors import ValidationError
from appliance.mail.compose import (MAX_REFERENCES, Attachment, HeaderInjection,
                                    InvalidAddress, Mailbox, compose_reply, new_message_id,
                                    tag_subject, thread_references)
from appliance.rules.mail_threading import subject_numbers

DOMAIN = "gongdan.example.cn"
SENDER = Mailbox("support@gongdan.example.cn", "工单支持中心 · 张三")
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def compose(**overrides):
    args = dict(sender=SENDER, to=[Mailbox("li.lei@contoso.com", "李雷")],
                subject="打印机无法连接", ticket_number="GD-2026-000123", domain=DOMAIN,
                text="您好，问题已处理。\n", now=NOW)
    args.update(overrides)
    return compose_reply(**args)


def round_trip(msg):
    """What a receiving client sees: the bytes smtplib would send, parsed back."""
    return BytesParser(policy=policy.default).parsebytes(msg.as_bytes())


def test_a_chinese_subject_and_sender_name_survive_the_wire_exactly():
    long_subject = "回复：打印机无法连接网络，三楼东侧全部终端都受影响 — urgent, please help today"
    got = round_trip(compose(subject=long_subject))
    assert got["Subject"] == f"[GD-2026-000123] {long_subject}"
    sender = got["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("工单支持中心 · 张三", SENDER.address)
    assert got["To"].addresses[0].display_name == "李雷"


def test_the_raw_message_is_seven_bit_with_encoded_words():
    raw = compose(html="<p>您好</p>").as_bytes()
    assert raw.isascii()
    assert b"=?utf-8?" in raw
    assert b"\r\n" in raw  # SMTP line endings


def test_the_ticket_tag_is_added_once_and_never_duplicated():
    assert round_trip(compose(subject="Re: [GD-2026-000123] 打印机"))["Subject"] \
        == "Re: [GD-2026-000123] 打印机"
    assert tag_subject("回复：【GD-2026-000123】打印机", "GD-2026-000123") \
        == "回复：【GD-2026-000123】打印机"
    assert tag_subject("[GD-2026-000009] other", "GD-2026-000123") \
        == "[GD-2026-000123] [GD-2026-000009] other"
    assert tag_subject("", "gd-2026-000123") == "[GD-2026-000123]"


def test_the_composed_subject_threads_back_to_its_ticket():
    subject = round_trip(compose())["Subject"]
    assert subject_numbers(f"Re: {subject}", "GD") == ["GD-2026-000123"]


def test_a_bad_ticket_number_is_refused():
    with pytest.raises(ValidationError):
        compose(ticket_number="123")


def test_in_reply_to_and_references_follow_the_thread():
    got = round_trip(compose(in_reply_to="<c3@qq.com>",
                             references=["<root@gongdan.example.cn>", "c2@qq.com"]))
    assert got["In-Reply-To"] == "<c3@qq.com>"
    assert got["References"].split() == ["<root@gongdan.example.cn>", "<c2@qq.com>",
                                         "<c3@qq.com>"]


def test_a_mail_outside_a_thread_has_no_threading_headers():
    got = round_trip(compose())
    assert got["In-Reply-To"] is None and got["References"] is None


def test_long_references_keep_the_first_and_the_newest_ids():
    ids = [f"<m{i}@x.cn>" for i in range(50)]
    kept = thread_references(ids, "<last@qq.com>")
    assert len(kept) == MAX_REFERENCES
    assert kept[0] == "<m0@x.cn>" and kept[-1] == "<last@qq.com>"
    assert kept[1:-1] == ids[-(MAX_REFERENCES - 2):]
    got = round_trip(compose(references=ids, in_reply_to="<last@qq.com>"))
    assert got["References"].split() == kept


def test_a_repeated_reference_keeps_its_latest_position():
    assert thread_references(["<a@x>", "<b@x>", "<a@x>"], "<b@x>") == ["<a@x>", "<b@x>"]


def test_a_malformed_message_id_is_refused():
    with pytest.raises(ValidationError):
        compose(in_reply_to="<no-at-sign>")
    with pytest.raises(ValidationError):
        compose(references=["<a b@x>"])


def test_message_ids_are_random_and_at_the_configured_domain():
    ids = {new_message_id(DOMAIN) for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("<") and i.endswith(f"@{DOMAIN}>") for i in ids)
    got = round_trip(compose())
    assert got["Message-ID"].endswith(f"@{DOMAIN}>")
    assert round_trip(compose())["Message-ID"] != got["Message-ID"]


def test_an_internationalised_domain_is_written_in_punycode():
    punycode = "工单.中国".encode("idna").decode()
    assert punycode.startswith("xn--")
    assert new_message_id("工单.中国").endswith(f"@{punycode}>")


def test_a_given_message_id_is_used_as_is():
    assert compose(message_id="<fixed@gongdan.example.cn>")["Message-ID"] \
        == "<fixed@gongdan.example.cn>"


def test_the_date_header_carries_the_given_time_and_zone():
    assert round_trip(compose())["Date"].datetime == NOW


def test_a_naive_time_is_taken_as_utc():
    got = round_trip(compose(now=dt.datetime(2026, 1, 2, 3, 4, 5)))
    assert got["Date"].datetime == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("kind,value", [
    ("auto_reply", "auto-replied"), ("system", "auto-generated"), ("human", None)])
def test_auto_submitted_tells_automatic_mail_from_human_replies(kind, value):
    got = round_trip(compose(kind=kind))
    assert got["Auto-Submitted"] == value
    assert (got["X-Auto-Response-Suppress"] == "All") is (value is not None)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationError):
        compose(kind="robot")


def test_text_and_html_are_alternatives_of_one_message():
    got = round_trip(compose(html="<p>您好，<b>问题已处理</b>。</p>"))
    assert got.get_content_type() == "multipart/alternative"
    # Text travels in canonical CRLF form inside base64; clients show the same lines.
    assert got.get_body(("plain",)).get_content().splitlines() == ["您好，问题已处理。"]
    assert "<b>问题已处理</b>" in got.get_body(("html",)).get_content()


def test_a_text_only_reply_is_a_single_part():
    got = round_trip(compose())
    assert got.get_content_type() == "text/plain"
    assert got.get_content().splitlines() == ["您好，问题已处理。"]


def test_an_attachment_with_a_chinese_filename_round_trips():
    files = [Attachment("报告 2026年11月.pdf", "application/pdf", b"%PDF-1.7 ..."),
             Attachment("log.txt", "text/plain", "行1\n".encode())]
    msg = compose(html="<p>见附件</p>", attachments=files)
    assert b"filename*=utf-8''" in msg.as_bytes()  # RFC 2231
    got = round_trip(msg)
    parts = list(got.iter_attachments())
    assert [p.get_filename() for p in parts] == ["报告 2026年11月.pdf", "log.txt"]
    assert parts[0].get_content() == b"%PDF-1.7 ..."
    assert got.get_body(("html",)).get_content().strip() == "<p>见附件</p>"


def test_a_bad_attachment_content_type_is_refused():
    with pytest.raises(ValidationError):
        compose(attachments=[Attachment("a.bin", "not a type", b"")])


INJECTIONS = ["x\r\nBcc: victim@evil.example", "x\nBcc: v@e.example", "x\rBcc: v@e.example",
              "x\0y", "x\u2028Bcc: v@e.example", "x\x85y"]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_a_line_break_or_nul_in_the_subject_raises_header_injection(bad):
    with pytest.raises(HeaderInjection):
        compose(subject=bad)


@pytest.mark.parametrize("field,value", [
    ("sender", Mailbox("support@gongdan.example.cn", "Support\r\nBcc: v@evil.example")),
    ("sender", Mailbox("support@gongdan.example.cn\nBcc: v@evil.example")),
    ("to", [Mailbox("li@contoso.com", "李雷\nX-Evil: 1")]),
    ("to", ["li@contoso.com\r\nBcc: v@evil.example"]),
    ("reply_to", "help@gongdan.example.cn\nBcc: v@evil.example"),
    ("in_reply_to", "<a@b>\r\nBcc: v@evil.example"),
    ("references", ["<a@b>\nBcc: v@evil.example"]),
    ("ticket_number", "GD-2026-000123\nBcc: v@evil.example"),
    ("domain", "gongdan.example.cn\r\nBcc: v@evil.example"),
    ("attachments", [Attachment("a.pdf\r\nX-Evil: 1", "application/pdf", b"")]),
    ("attachments", [Attachment("a.pdf", "application/pdf\r\nX-Evil: 1", b"")]),
])
def test_injection_through_any_header_bound_value_raises(field, value):
    with pytest.raises(HeaderInjection):
        compose(**{field: value})


def test_header_injection_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        compose(subject="a\nb")
    assert caught.value.fields == {"subject": "contains a line break or NUL"}


@pytest.mark.parametrize("address", [
    "not-an-address", "@contoso.com", "li@", "li lei@contoso.com", "li@contoso..com",
    "li@-contoso.com", "李雷@contoso.com", "a@b@c.com", "<li@contoso.com>", "li@con toso.com",
])
def test_invalid_addresses_are_refused(address):
    with pytest.raises(InvalidAddress):
        compose(to=[address])


def test_a_single_recipient_may_be_given_without_a_list_and_reply_to_is_set():
    got = round_trip(compose(to="li@contoso.com", reply_to=Mailbox("help@gongdan.example.cn")))
    assert str(got["To"]) == "li@contoso.com"
    assert str(got["Reply-To"]) == "help@gongdan.example.cn"


def test_no_recipient_is_refused():
    with pytest.raises(ValidationError):
        compose(to=[])


def test_a_display_name_with_quotes_and_commas_stays_one_mailbox():
    got = round_trip(compose(to=[Mailbox("li@contoso.com", 'Li, "Lei" <boss@evil.example>')]))
    [address] = got["To"].addresses
    assert address.addr_spec == "li@contoso.com"
    assert address.display_name == 'Li, "Lei" <boss@evil.example>'
