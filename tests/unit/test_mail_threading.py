import datetime as dt

import pytest

from appliance.rules.mail_threading import (InboundRef, after_reply_to_closed,
                                            normalise_message_id, normalise_subject,
                                            subject_numbers, thread_target)

NOW = dt.datetime(2026, 11, 26, 12, 0)

# What Gongdan has seen: Message-ID → ticket id, ticket number → ticket id.
MESSAGES = {"<ack-7@gongdan.example.cn>": 7, "<root-3@qq.com>": 3, "<mid-5@example.com>": 5}
NUMBERS = {"GD-2026-000123": 123, "GD-2026-000009": 9}


class Store:
    """A fake of the two look-ups, recording what it was asked."""

    def __init__(self):
        self.asked: list[list[str]] = []

    def known(self, ids):
        self.asked.append(list(ids))
        return next((MESSAGES[i] for i in ids if i in MESSAGES), None)

    def by_number(self, number):
        self.asked.append([number])
        return NUMBERS.get(number)


def decide(subject="", in_reply_to=(), references=(), message_id="<new@cust.cn>", store=None):
    store = store or Store()
    ref = InboundRef(message_id, list(in_reply_to), list(references), subject)
    return thread_target(ref, store.known, store.by_number, prefix="GD")


def test_in_reply_to_beats_references_and_the_subject_number():
    d = decide("Re: [GD-2026-000123] 打印机", in_reply_to=["<ack-7@gongdan.example.cn>"],
               references=["<root-3@qq.com>"])
    assert (d.kind, d.ticket_id, d.matched_by) == ("reply", 7, "in_reply_to")


def test_references_beat_the_subject_number_when_in_reply_to_is_unknown():
    d = decide("Re: [GD-2026-000123] 打印机", in_reply_to=["<unknown@x.cn>"],
               references=["<root-3@qq.com>"])
    assert (d.kind, d.ticket_id, d.matched_by) == ("reply", 3, "references")


def test_references_are_looked_up_newest_first():
    store = Store()
    d = decide(references=["<root-3@qq.com>", "<x@y>", "<mid-5@example.com>"], store=store)
    assert store.asked == [["<mid-5@example.com>", "<x@y>", "<root-3@qq.com>"]]
    assert d.ticket_id == 5


def test_known_is_asked_once_per_step_and_never_about_the_message_itself():
    store = Store()
    decide(in_reply_to=["<a@x>"], references=["<a@x>", "<new@cust.cn>", "<b@x>"], store=store)
    assert store.asked == [["<a@x>"], ["<b@x>"]]


def test_only_the_newest_50_references_and_first_10_in_reply_to_ids_are_looked_up():
    import time
    store = Store()
    # Hundreds of thousands of ids (a 25 MB header), many repeated: linear, and capped.
    refs = ["<root-3@qq.com>"] + [f"<r{i % 200_000}@x>" for i in range(400_000)]
    started = time.monotonic()
    d = decide(in_reply_to=[f"<i{i}@x>" for i in range(30)], references=refs, store=store)
    assert time.monotonic() - started < 5
    assert store.asked[0] == [f"<i{i}@x>" for i in range(10)]
    assert store.asked[1] == [f"<r{i}@x>" for i in range(199_999, 199_949, -1)]
    assert d.kind == "new"    # the root is older than the newest 50 references


def test_the_bracketed_subject_number_threads_when_headers_say_nothing():
    d = decide("答复: [GD-2026-000123] 打印机无法连接")
    assert (d.kind, d.ticket_id, d.matched_by) == ("reply", 123, "subject_number")
    assert "GD-2026-000123" in d.detail


@pytest.mark.parametrize("subject", [
    "Re: [GD-2026-000123] printer",
    "RE: Fwd: AW: SV: [GD-2026-000123]",
    "回复：【GD-2026-000123】打印机",
    "转发: ［GD－2026－000123］ 打印机",      # full-width brackets, hyphens, via NFKC
    "Fwd: [ gd-2026-000123 ] lower case and padded",
    "〔GD-2026-000123〕 tortoise-shell brackets",
])
def test_the_subject_number_is_found_in_every_bracket_style_and_after_any_prefix(subject):
    assert decide(subject).ticket_id == 123


def test_a_subject_number_of_an_unknown_ticket_makes_a_new_ticket():
    d = decide("Re: [GD-2026-999999] printer")
    assert (d.kind, d.ticket_id, d.matched_by) == ("new", None, "")
    assert "names no ticket" in d.detail


def test_the_same_subject_text_without_a_number_makes_a_new_ticket():
    # Ticket 123 is about "打印机无法连接", but subject text alone never threads.
    d = decide("Re: 打印机无法连接")
    assert d.kind == "new" and d.ticket_id is None


def test_a_bare_number_without_brackets_is_not_a_tag():
    # Decision: only the bracketed form counts; customers cite other tickets in prose.
    d = decide("Same problem as GD-2026-000123 last week")
    assert d.kind == "new"


def test_a_number_with_another_prefix_is_ignored():
    assert decide("Re: [XY-2026-000123] printer").kind == "new"
    assert subject_numbers("[XY-2026-000123]", "GD") == []


def test_the_first_known_of_several_tags_wins():
    assert decide("Re: [GD-2026-999999] Fwd: [GD-2026-000009]").ticket_id == 9


def test_unknown_headers_and_no_tag_make_a_new_ticket_and_say_why():
    d = decide("hello", in_reply_to=["<nobody@x.cn>"])
    assert d.kind == "new" and d.detail == "no known message id"
    assert decide("hello").detail == "no thread headers and no subject tag"


def test_message_ids_without_angle_brackets_are_normalised():
    assert normalise_message_id("  ack-7@gongdan.example.cn ") == "<ack-7@gongdan.example.cn>"
    assert decide(in_reply_to=["ack-7@gongdan.example.cn"]).ticket_id == 7
    assert normalise_message_id("   ") == ""


@pytest.mark.parametrize("status,ended,expected", [
    ("open", None, "append"),
    ("new", None, "append"),
    ("pending_customer", None, "append"),
    ("resolved", NOW - dt.timedelta(days=6, hours=23), "reopen"),
    ("closed", NOW - dt.timedelta(days=7), "reopen"),                  # the window's last moment
    ("closed", NOW - dt.timedelta(days=7, seconds=1), "follow_up"),
    ("resolved", NOW - dt.timedelta(days=30), "follow_up"),
    ("closed", None, "follow_up"),                                      # no end time: no reopen
])
def test_a_reply_to_an_ended_ticket_reopens_within_the_window_else_starts_a_follow_up(
        status, ended, expected):
    assert after_reply_to_closed(status, ended, NOW, 7) == expected


def test_an_unknown_status_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        after_reply_to_closed("archived", NOW, NOW, 7)


@pytest.mark.parametrize("raw,clean", [
    ("Re: printer", "printer"),
    ("RE: RE: Re: printer", "printer"),
    ("回复：打印机", "打印机"),
    ("答复: 回复: 转发: 打印机", "打印机"),
    ("Fwd: FW: Fw: printer", "printer"),
    ("【回复】打印机", "打印机"),
    ("AW: SV: WG: Re[2]: printer", "printer"),
    ("Re: [GD-2026-000123] printer", "[GD-2026-000123] printer"),
])
def test_normalise_subject_strips_repeated_reply_and_forward_prefixes(raw, clean):
    assert normalise_subject(raw) == clean


@pytest.mark.parametrize("subject", ["Report: Q3", "Rework needed", "Fwdx: y", "Svelte: z"])
def test_normalise_subject_leaves_words_that_merely_start_like_a_prefix(subject):
    assert normalise_subject(subject) == subject
