"""Inbound mail parsing: the corpus, charset rules, header encodings, folding, sanitising."""
from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest

from appliance.mail.parse import MessageTooLarge, fold_quoted, html_to_text, parse_message
from appliance.mail.parse_charsets import decode_bytes, decode_encoded_words, guess_decode
from appliance.mail.parse_headers import safe_filename
from appliance.mail.parse_html import sanitise_html

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def corpus(name: str):
    return parse_message((CORPUS / name).read_bytes())


def mail(headers: str, body: bytes = b"Body.\r\n") -> bytes:
    return headers.replace("\n", "\r\n").encode("utf-8") + b"\r\n\r\n" + body


# --- the corpus --------------------------------------------------------------

def test_the_corpus_holds_at_least_55_messages_each_with_expectations():
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 55
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_corpus_message_parses_to_its_expected_fields(name):
    parsed = corpus(name)
    expected = EXPECTED[name]
    assert parsed.subject == expected["subject"]
    assert parsed.from_address == expected["from_address"]
    assert expected["text_contains"] in parsed.text
    assert [a.filename for a in parsed.attachments] == expected["attachments"]
    assert "\n" not in parsed.subject and "\r" not in parsed.subject


def test_the_corpus_script_reproduces_the_committed_files_byte_for_byte():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.build().items():
        assert (CORPUS / name).read_bytes() == data, name


# --- charsets ----------------------------------------------------------------

@pytest.mark.parametrize("label", ["gb2312", "GBK", "gb18030", "x-gbk"])
def test_chinese_gb_labels_decode_as_gb18030_so_characters_beyond_gb2312_survive(label):
    text = "朱镕基和𠀀"  # 镕 is outside GB2312, 𠀀 needs GB18030's four-byte form
    assert decode_bytes(text.encode("gb18030"), label) == (text, None)


def test_big5_decodes_as_big5_hkscs_so_hong_kong_characters_survive():
    assert decode_bytes("香港字：嘅".encode("big5hkscs"), "big5") == ("香港字：嘅", None)


def test_korean_outlook_label_decodes_as_cp949():
    assert decode_bytes("똠방각하".encode("cp949"), "ks_c_5601-1987") == ("똠방각하", None)


def test_iso_2022_jp_falls_back_to_its_extensions_for_half_width_kana():
    assert decode_bytes("ﾃｽﾄ".encode("iso2022_jp_ext"), "iso-2022-jp") == ("ﾃｽﾄ", None)


def test_windows_1252_smart_quotes_decode_under_an_iso_8859_1_label():
    assert decode_bytes("\u201cok\u201d".encode("cp1252"), "iso-8859-1") == ("\u201cok\u201d", None)


@pytest.mark.parametrize("codec, text, guessed", [
    ("utf-8", "中文内容", "utf-8"),
    ("gbk", "请尽快处理这个问题，谢谢。", "gb18030"),
    ("big5", "請協助處理這個問題，謝謝您的幫忙。", "big5hkscs"),
    ("cp932", "お世話になっております。見積書を送付いたします。", "cp932"),
])
def test_undeclared_bytes_are_guessed_by_plausibility_and_the_guess_is_recorded(codec, text, guessed):
    decoded, problem = decode_bytes(text.encode(codec), "unknown-8bit")
    assert decoded == text
    assert problem == f"undeclared charset, guessed {guessed}"


def test_latin_text_stays_latin_and_is_not_misread_as_chinese():
    data = "Grüße aus München, déjà vu à la café.".encode("latin-1")
    assert guess_decode(data) == (data.decode("latin-1"), "latin-1")
    assert decode_bytes(data, "iso-8859-1") == (data.decode("latin-1"), None)


def test_a_gb2312_label_on_utf8_content_is_corrected_and_recorded():
    assert decode_bytes("实际上是UTF-8".encode("utf-8"), "gb2312") == (
        "实际上是UTF-8", "declared charset gb2312 but content is utf-8")


def test_an_iso_8859_1_label_on_gbk_content_is_corrected_and_recorded():
    text = "财务系统登录后提示错误，请帮忙查看。"
    assert decode_bytes(text.encode("gbk"), "iso-8859-1") == (
        text, "declared charset iso-8859-1 but content is gb18030")


def test_an_unknown_charset_label_is_guessed_and_recorded():
    text, problem = decode_bytes("中文".encode("utf-8"), "x-no-such-charset")
    assert text == "中文" and problem == "unknown charset x-no-such-charset, guessed utf-8"


# --- RFC 2047 and RFC 2231 ---------------------------------------------------

def test_encoded_words_split_inside_a_multibyte_character_are_joined_before_decoding():
    data = "温度过高".encode("utf-8")
    value = (f"=?utf-8?B?{base64.b64encode(data[:4]).decode()}?=\r\n "
             f"=?UTF-8?B?{base64.b64encode(data[4:]).decode()}?=")
    assert decode_encoded_words(value) == ("温度过高", [])


def test_whitespace_between_encoded_words_disappears_but_plain_text_around_them_stays():
    value = "Re: =?gbk?Q?=D6=D0?= =?utf-8?B?5paH?= done"
    assert decode_encoded_words(value)[0] == "Re: 中文 done"


def test_encoded_words_use_the_charset_aliases():
    value = "=?gb2312?B?" + base64.b64encode("镕".encode("gb18030")).decode() + "?="
    assert decode_encoded_words(value)[0] == "镕"


def test_a_subject_that_decodes_to_crlf_stays_a_single_line_and_the_repair_is_recorded():
    evil = base64.b64encode(b"Hi\r\nBcc: x@evil.example").decode()
    parsed = parse_message(mail(f"From: a@b.example\nSubject: =?utf-8?B?{evil}?="))
    assert parsed.subject == "Hi Bcc: x@evil.example"
    assert "control characters removed from subject" in parsed.problems


def test_raw_8bit_gbk_headers_are_decoded_and_recorded():
    raw = ("From: 王五 <w@corp.example>\r\nSubject: 邮件无法发送\r\n\r\nx").encode("gbk")
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.from_name, parsed.from_address) == ("邮件无法发送", "王五", "w@corp.example")
    assert "raw 8-bit header subject, guessed gb18030" in parsed.problems


def test_rfc2231_continuations_with_a_charset_make_one_filename():
    parsed = corpus("rfc2231_continuation_filename.eml")
    assert parsed.attachments[0].filename == "年度财务报告.pdf"
    assert parsed.attachments[0].content.startswith(b"%PDF")


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\evil\\CON.txt", "_CON.txt"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ('a<b>:"c|?*.txt', "a_b___c___.txt"),
    ("  ..hidden. ", "hidden"),
    ("", "attachment-1.bin"),
    ("=?utf-8?B?5oql5ZGKLnBkZg==?=", "报告.pdf"),
])
def test_attachment_names_become_safe_basenames(name, expected):
    assert safe_filename(name, "attachment-1.bin") == expected


def test_very_long_attachment_names_are_cut_but_keep_their_extension():
    name = safe_filename("长" * 300 + ".pdf", "x")
    assert name.endswith(".pdf") and len(name.encode("utf-8")) <= 200


# --- structure ---------------------------------------------------------------

def test_headers_ids_addresses_and_date_are_normalised():
    parsed = corpus("gmail_en_reply.eml")
    assert parsed.message_id.startswith("<") and parsed.message_id.endswith(">")
    assert parsed.in_reply_to == ["<t-77@gongdan.example>"]
    assert parsed.references == ["<t-70@gongdan.example>", "<t-77@gongdan.example>"]
    assert parsed.to == ["support@gongdan.example"]
    assert parsed.date == dt.datetime(2025, 3, 3, 2, 15)


def test_display_names_are_kept_apart_from_the_address():
    parsed = corpus("display_name_spoofing.eml")
    assert parsed.from_name == "support@bank.example"
    assert parsed.from_address == "attacker@evil.example"


def test_a_100kb_references_header_keeps_order_without_duplicates():
    parsed = corpus("long_references_100kb.eml")
    assert len(parsed.references) == 3600
    assert parsed.references[0] == "<ref-00000@thread.example>"
    assert parsed.references[-1] == "<ref-03599@thread.example>"
    doubled = parse_message(mail("From: a@b.example\nReferences: <x@y> <z@y> <x@y>"))
    assert doubled.references == ["<x@y>", "<z@y>"]


def test_control_characters_never_reach_ids_or_addresses():
    # A NUL cannot be stored on PostgreSQL: such ids and addresses are dropped, not kept.
    raw = mail("From: evil\x00x@b.example\nTo: support@gongdan.example, a\x7fb@c.example\n"
               "Message-ID: <a\x00b@evil.example>\nIn-Reply-To: <r\x01@x.example> <ok@x.example>\n"
               "References: <ref\x00@x.example> <good@x.example> bare\x00id@x.example")
    parsed = parse_message(raw)
    assert "\x00" not in parsed.message_id and parsed.message_id != "<a\x00b@evil.example>"
    assert parsed.in_reply_to == ["<ok@x.example>"]
    assert parsed.references == ["<good@x.example>"]
    assert parsed.from_address == "" and parsed.to == ["support@gongdan.example"]
    from appliance.mail.parse_headers import message_ids, valid_address
    assert message_ids("bare\x00id@x.example other@x.example") == ["<other@x.example>"]
    assert valid_address("a\x00b@c.example") == "" and valid_address("a\tb@c.example") == ""


def test_cid_images_are_inline_attachments_and_stay_referenced_in_the_html():
    parsed = corpus("related_cid_inline_image_outlook.eml")
    image = parsed.attachments[0]
    assert (image.content_id, image.inline, image.content_type) == (
        "image001.png@01DB8C3A.12345670", True, "image/png")
    assert 'src="cid:image001.png@01DB8C3A.12345670"' in parsed.html_sanitised
    assert "remote.example" not in parsed.html_sanitised


def test_a_forwarded_message_is_kept_whole_as_an_eml_attachment():
    attachment = corpus("forward_message_rfc822.eml").attachments[0]
    assert attachment.content_type == "message/rfc822"
    inner = parse_message(attachment.content)
    assert inner.subject == "原始问题：无法开票" and "开票系统报错" in inner.text


def test_a_bounce_keeps_its_loop_headers_and_delivery_status():
    parsed = corpus("dsn_bounce_multipart_report.eml")
    assert parsed.headers_of_interest["x-failed-recipients"] == "gone@corp.example"
    assert parsed.headers_of_interest["content-type"].startswith("multipart/report")
    assert b"Status: 5.1.1" in parsed.attachments[0].content


def test_auto_replies_and_list_mail_expose_their_loop_headers():
    ooo = corpus("out_of_office_zh_auto_submitted.eml").headers_of_interest
    assert (ooo["auto-submitted"], ooo["x-autoreply"], ooo["precedence"]) == ("auto-replied", "yes", "auto_reply")
    exchange = corpus("exchange_auto_reply.eml").headers_of_interest
    assert exchange["x-auto-response-suppress"] == "All"
    listed = corpus("mailing_list_post.eml").headers_of_interest
    assert listed["list-id"] == "Developers <dev.lists.example.org>"
    assert "list-unsubscribe" in listed


def test_a_calendar_invite_and_a_winmail_dat_are_kept_as_attachments():
    invite = corpus("calendar_invite.eml").attachments[0]
    assert invite.content_type == "text/calendar" and b"METHOD:REQUEST" in invite.content
    tnef = corpus("tnef_winmail_dat.eml").attachments[0]
    assert tnef.content_type == "application/ms-tnef" and tnef.size == 68


def test_html_only_mail_gets_its_text_from_the_html():
    parsed = corpus("html_only_marketing.eml")
    assert "Big Sale" in parsed.text and "alert" not in parsed.text and "background" not in parsed.text


@pytest.mark.parametrize("name, problem", [
    ("missing_message_id.eml", "missing Message-ID"),
    ("missing_date.eml", "missing Date"),
    ("unparseable_date.eml", "unparseable Date"),
    ("truncated_mime.eml", "truncated MIME (closing boundary missing)"),
    ("broken_boundary_mismatch.eml", "broken MIME boundary, repaired from the body"),
    ("wrong_cte_base64_is_plain.eml", "wrong Content-Transfer-Encoding base64, read as 8bit"),
    ("unknown_cte_value.eml", "unknown Content-Transfer-Encoding 8-bit, read as 8bit"),
    ("undeclared_8bit_gbk_body.eml", "undeclared charset, guessed gb18030"),
    ("duplicate_headers.eml", "duplicate subject header, first one used"),
    ("invalid_from_address.eml", "invalid From address"),
    ("multipart_without_boundary.eml", "multipart/mixed without usable boundary, read as text"),
])
def test_repairs_are_recorded_as_problems(name, problem):
    assert problem in corpus(name).problems


def test_a_clean_message_records_no_problems():
    assert corpus("gmail_en_reply.eml").problems == []


def test_missing_fields_come_back_empty_rather_than_failing():
    parsed = corpus("missing_message_id.eml")
    assert parsed.message_id == ""
    assert corpus("missing_date.eml").date is None


def test_a_message_over_the_size_limit_raises_before_parsing():
    with pytest.raises(MessageTooLarge):
        parse_message(b"x" * 101, max_bytes=100)
    assert parse_message(b"Subject: ok\r\n\r\n" + b"x" * 80, max_bytes=100).subject == "ok"


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe", b"garbage without headers", b"Subject: =?utf-8?B?####?=\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n",
    b"From: <<<@@@>>>\r\nDate: Mon, 99 Foo 2025 99:99:99\r\nTo: ,,,;;;\r\n\r\n",
    b"Content-Type: message/rfc822\r\n\r\nnot a message",
    b"Content-Type: text/plain; charset=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!",
    b"Content-Disposition: attachment; filename*0*=bogus''%ZZ; filename*5=x\r\n"
    b"Content-Type: application/pdf\r\n\r\n%PDF",
])
def test_malformed_input_never_raises(raw):
    parsed = parse_message(raw)
    assert isinstance(parsed.problems, list)


# --- folding replies ---------------------------------------------------------

def test_fold_quoted_splits_an_english_gmail_reply_at_the_attribution():
    new, history = fold_quoted(corpus("gmail_en_reply.eml").text)
    assert new == "Thanks, that fixed it!"
    assert history.startswith("On Mon, Mar 3, 2025") and "> Please clear" in history


def test_fold_quoted_splits_a_chinese_gmail_reply_at_its_attribution():
    new, history = fold_quoted(corpus("gmail_zh_reply.eml").text)
    assert new == "已经解决了，谢谢！"
    assert "写道" in history


@pytest.mark.parametrize("name, new", [
    ("outlook_zh_gb2312_reply.eml", "您好，\n\n打印机还是无法连接，请尽快处理。\n\n王伟"),
    ("outlook_en_alternative_reply.eml", "Hi team,\n\nThe VPN drops every hour since Monday. Can you check?\n\nThanks,\nAlice"),
    ("outlook_en_quoting_chinese_headers.eml", "Forwarding the user's complaint below."),
    ("outlook_zh_tw_big5.eml", "您好：\n\n會議室投影機無法開機，請協助處理。\n\n謝謝"),
    ("foxmail_gbk_reply.eml", "好的，收到，明天上午处理。"),
    ("qqmail_html_only_gb18030.eml", "您好，我的账号被锁定了，请帮忙解锁。"),
    ("qq_mobile_reply.eml", "收到，我马上看一下。"),
    ("android_huawei_footer.eml", "文件已经上传到共享盘了。"),
    ("netease_163_alternative.eml", "附件是报销单，请审批。"),
    ("iphone_sent_from_footer.eml", "The wifi on the third floor is down again."),
    ("signature_separator.eml", "Please reset my token."),
    ("bottom_posted_reply.eml", "Yes, 98% used on /var."),
])
def test_fold_quoted_keeps_only_the_new_part_of_real_client_replies(name, new):
    assert fold_quoted(corpus(name).text)[0] == new


@pytest.mark.parametrize("text", [
    "-----Original Message-----\nFrom: a\nSent: b\nTo: c\nSubject: d\n\nold",
    "----- 原始邮件 -----\n发件人: a\n\nold",
    "> only a quote\n> nothing new",
])
def test_fold_quoted_keeps_everything_when_nothing_new_would_remain(text):
    assert fold_quoted(text) == (text, "")


def test_fold_quoted_does_not_cut_at_a_lone_from_line_in_prose():
    text = "From: the logs I see errors.\nPlease check the disk."
    assert fold_quoted(text) == (text, "")


def test_fold_quoted_recognises_the_english_original_message_separator():
    new, history = fold_quoted("Done.\n\n-----Original Message-----\nFrom: x\nold")
    assert (new, history.splitlines()[0]) == ("Done.", "-----Original Message-----")


# --- HTML --------------------------------------------------------------------

def test_html_to_text_turns_blocks_into_lines_and_decodes_entities():
    html = "<div>One&nbsp;&amp; two</div><p>Three<br>Four</p><ul><li>a</li><li>b</li></ul>"
    assert html_to_text(html) == "One & two\n\nThree\nFour\n\na\n\nb"


def test_html_to_text_drops_scripts_styles_and_the_head():
    html = "<head><title>T</title><style>p{}</style></head><script>x()</script><p>Body</p>"
    assert html_to_text(html) == "Body"


def test_html_to_text_marks_blockquotes_as_quoted_lines():
    assert html_to_text("<p>New</p><blockquote><p>Old</p></blockquote>") == "New\n\n> Old"


def test_html_to_text_keeps_preformatted_whitespace():
    assert html_to_text("<pre>a   b\n  c</pre>") == "a   b\n  c"


def test_sanitising_removes_scripts_handlers_javascript_urls_styles_and_remote_images():
    html = ('<p onclick="x()" style="color:red">Hi</p><script>alert(1)</script><style>p{}</style>'
            '<a href="javascript:alert(1)">bad</a><a href="https://ok.example">good</a>'
            '<img src="https://tracker.example/p.gif"><img src="data:image/svg+xml;base64,AAAA">'
            '<img src="cid:logo@x" alt="logo"><iframe src="https://x.example"></iframe>')
    clean = sanitise_html(html)
    for banned in ("onclick", "style", "script", "alert", "javascript", "tracker", "data:", "iframe"):
        assert banned not in clean
    assert '<a href="https://ok.example" rel="noopener noreferrer nofollow">good</a>' in clean
    assert '<img src="cid:logo@x" alt="logo">' in clean


def test_parsed_html_is_sanitised():
    html = corpus("html_only_marketing.eml").html_sanitised
    assert "Big Sale" in html and "onclick" not in html and "tracker.example" not in html
