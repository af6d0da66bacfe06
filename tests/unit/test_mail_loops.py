import datetime as dt
from email import message_from_string, policy

import pytest

from appliance.rules.mail_loops import (MailKind, RateLimiter, canonical_address, classify,
                                        may_auto_answer, over_limit)

OWN = {"support@gongdan.example.cn", "IT-Help@gongdan.example.cn"}
CUSTOMER = "li.lei@contoso.com"

# Header sets modelled on real messages (trimmed to what matters).
EXCHANGE_OOF = {
    "Subject": "Automatic reply: 打印机无法连接",
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "All",
    "X-MS-Exchange-Inbox-Rules-Loop": CUSTOMER,
    "Return-Path": f"<{CUSTOMER}>",
}
LEGACY_EXCHANGE_OOF = {  # older Exchange: no Auto-Submitted, only the suppress hint
    "Subject": "Out of Office: printer",
    "X-Auto-Response-Suppress": "All",
    "Return-Path": f"<{CUSTOMER}>",
}
GMAIL_VACATION = {
    "Subject": "Re: [GD-2026-000123] printer",
    "Auto-Submitted": "auto-replied",
    "Return-Path": "<zhang.san@gmail.com>",
}
QQ_STYLE_AUTO_REPLY = {  # 自动回复 subject; the only machine hint is the null sender
    "Subject": "自动回复: [GD-2026-000123] 打印机无法连接",
    "Return-Path": "<>",
}
POSTFIX_DSN = {
    "Subject": "Undelivered Mail Returned to Sender",
    "Auto-Submitted": "auto-replied",   # Postfix sets it too: bounce must still win
    "Return-Path": "<>",
}
POSTFIX_DSN_TYPE = 'multipart/report; report-type=delivery-status;\n boundary="8C2F3A.1"'
MAILMAN_LIST = {
    "Subject": "[it-users] printer on floor 3",
    "List-Id": "IT users <it-users.lists.example.org>",
    "List-Unsubscribe": "<mailto:it-users-leave@lists.example.org>",
    "Precedence": "list",
    "Return-Path": "<it-users-bounces@lists.example.org>",
}
PLAIN = {"Subject": "打印机无法连接", "Return-Path": f"<{CUSTOMER}>"}


def kind_of(headers, sender=CUSTOMER, content_type="text/plain; charset=utf-8"):
    return classify(headers, sender, content_type, OWN)


def test_an_ordinary_customer_mail_is_normal_and_may_be_answered():
    kind = kind_of(PLAIN)
    assert kind == MailKind("normal", "")
    assert may_auto_answer(kind, PLAIN)


def test_an_exchange_out_of_office_is_an_auto_reply():
    assert kind_of(EXCHANGE_OOF).kind == "auto_reply"


def test_a_legacy_exchange_out_of_office_is_caught_by_subject_plus_suppress_header():
    kind = kind_of(LEGACY_EXCHANGE_OOF)
    assert kind.kind == "auto_reply" and "X-Auto-Response-Suppress" in kind.reason


def test_a_gmail_vacation_reply_is_an_auto_reply_even_with_a_normal_subject():
    assert kind_of(GMAIL_VACATION, "zhang.san@gmail.com") == MailKind(
        "auto_reply", "Auto-Submitted: auto-replied")


def test_a_qq_style_chinese_auto_reply_with_a_null_sender_is_an_auto_reply_not_a_bounce():
    assert kind_of(QQ_STYLE_AUTO_REPLY, "12345@qq.com").kind == "auto_reply"


def test_a_postfix_delivery_status_notification_is_a_bounce():
    kind = kind_of(POSTFIX_DSN, "MAILER-DAEMON@mail.example.cn", POSTFIX_DSN_TYPE)
    assert kind.kind == "bounce" and "delivery-status" in kind.reason


def test_a_mailman_list_mail_is_list_mail():
    assert kind_of(MAILMAN_LIST, "wang@lists.example.org").kind == "list"


def test_our_own_address_with_a_plus_tag_and_other_case_is_own():
    kind = kind_of(PLAIN, "Gongdan 支持 <Support+123@Gongdan.Example.CN>")
    assert kind.kind == "own"
    assert kind_of(PLAIN, "it-help@GONGDAN.example.cn").kind == "own"


@pytest.mark.parametrize("headers,sender,content_type,reason", [
    ({}, "postmaster@example.cn", "text/plain", "sender postmaster"),
    ({}, "MAILER-DAEMON", "text/plain", "sender mailer-daemon"),
    ({"X-Failed-Recipients": CUSTOMER}, "mail@example.cn", "text/plain",
     "X-Failed-Recipients present"),
    ({"Return-Path": "<>"}, "x@example.cn", "text/plain", "empty Return-Path <>"),
    ({}, "x@example.cn", "multipart/report", "multipart/report; report-type=(none)"),
])
def test_every_bounce_signal_alone_is_enough(headers, sender, content_type, reason):
    assert classify(headers, sender, content_type, OWN) == MailKind("bounce", reason)


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied; owner-email=x@y"},
    {"Auto-Submitted": "Auto-Generated"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "auto_reply"},
    {"X-Autoreply": "yes"},
    {"X-Autorespond": "on vacation"},
    {"X-MS-Exchange-Inbox-Rules-Loop": CUSTOMER},
])
def test_every_auto_reply_header_alone_is_enough(headers):
    assert kind_of(headers).kind == "auto_reply"


def test_auto_submitted_no_marks_a_human_message():
    assert kind_of({"Auto-Submitted": "no"}).kind == "normal"


def test_a_read_receipt_report_is_an_auto_reply_not_a_bounce():
    kind = kind_of({}, content_type="multipart/report; report-type=disposition-notification")
    assert kind.kind == "auto_reply"


@pytest.mark.parametrize("subject", ["Out of Office: printer", "自动回复：打印机", "Automatic reply"])
def test_an_out_of_office_subject_alone_is_not_enough(subject):
    assert kind_of({"Subject": subject}).kind == "normal"


def test_list_unsubscribe_counts_as_a_list_only_with_a_list_precedence():
    unsubscribe = {"List-Unsubscribe": "<mailto:leave@news.example.com>"}
    assert kind_of(unsubscribe).kind == "normal"
    assert kind_of({**unsubscribe, "Precedence": "list"}).kind == "list"
    assert kind_of({**unsubscribe, "Precedence": "bulk"}).kind == "list"


def test_header_names_are_matched_case_insensitively_also_on_an_email_message():
    raw = "AUTO-SUBMITTED: auto-replied\nfrom: a@b.cn\nSubject: x\n\nbody\n"
    msg = message_from_string(raw, policy=policy.default)
    assert kind_of(msg).kind == "auto_reply"


@pytest.mark.parametrize("kind", ["bounce", "auto_reply", "list", "own"])
def test_machine_mail_is_never_answered(kind):
    assert not may_auto_answer(MailKind(kind, "x"), {})
    assert not may_auto_answer(kind, {})


@pytest.mark.parametrize("value,answer", [
    ("All", False), ("OOF", False), ("DR, OOF, AutoReply", False), ("autoreply", False),
    ("DR, NDR", True), ("None", True), ("", True),
])
def test_a_sender_who_suppresses_auto_replies_is_not_answered(value, answer):
    headers = {"X-Auto-Response-Suppress": value}
    assert may_auto_answer(kind_of(headers), headers) is answer


def test_canonical_address_drops_the_plus_tag_and_case():
    assert canonical_address("张三 <Support+Ticket-7@Example.CN>") == "support@example.cn"
    assert canonical_address("") == ""


T0 = dt.datetime(2026, 11, 26, 12, 0)
HOUR = dt.timedelta(hours=1)


def test_a_sender_under_the_limit_may_still_be_answered():
    assert not over_limit([T0 - dt.timedelta(minutes=m) for m in (1, 2)], T0, 3, HOUR)


def test_a_sender_at_the_limit_in_the_window_is_over_it():
    assert over_limit([T0 - dt.timedelta(minutes=m) for m in (1, 2, 3)], T0, 3, HOUR)


def test_answers_older_than_the_window_no_longer_count():
    stamps = [T0 - HOUR, T0 - HOUR - dt.timedelta(seconds=1), T0 - dt.timedelta(minutes=5)]
    assert not over_limit(stamps, T0, 2, HOUR)     # exactly one window ago has slid out
    assert over_limit(stamps, T0, 1, HOUR)             # the five-minute-old one still does


def test_timestamps_from_a_clock_ahead_of_ours_still_count():
    assert over_limit([T0 + dt.timedelta(minutes=5)], T0, 1, HOUR)


def test_a_limit_of_zero_answers_nobody():
    assert over_limit([], T0, 0, HOUR)


def test_the_rate_limiter_object_carries_limit_and_window():
    limiter = RateLimiter(2, HOUR)
    assert not limiter.over_limit([T0], T0)
    assert limiter.over_limit([T0, T0 - dt.timedelta(minutes=59)], T0)
