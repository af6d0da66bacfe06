"""The texts of the automatic notices Gongdan mails (pure: no database, no flask).

Owns the wording, in Chinese and English, of the "we received your request" confirmation
and of the "your message was too large" refusal, as a subject plus text and HTML bodies.
The appliance layer cannot use the web app's gettext catalogues, so the two languages are
kept side by side here. Nothing the sender wrote goes into a notice, not even its subject:
the address a notice goes to is unverified (a forged From, an address typed into a web
form), so anything repeated from the request would let anyone mail their own text to
anyone through us (backscatter, a spam relay). A notice carries only our own wording, the
ticket number and, for a web form, the form's title (chosen by an administrator).
"""
from __future__ import annotations

import html
from dataclasses import dataclass

KINDS = ("received", "too_large")
LOCALES = ("zh_CN", "en")
TITLE_QUOTE = 80     # characters of a web form's title repeated in the subject

_TEXTS = {
    ("received", "zh_CN"): (
        "我们已收到您的请求：{title}",
        ["您好：",
         "我们已收到您的请求，工单号为 {number}。我们会尽快处理并回复您。",
         "如需补充信息，请直接回复此邮件，并保留主题中的工单号。",
         "（此邮件由系统自动发送。）"]),
    ("received", "en"): (
        "We received your request: {title}",
        ["Hello,",
         "We have received your request; its ticket number is {number}. We will get back "
         "to you as soon as possible.",
         "To add information, reply to this e-mail and keep the ticket number in the subject.",
         "(This message was sent automatically.)"]),
    ("too_large", "zh_CN"): (
        "您的邮件过大，未能受理",
        ["您好：",
         "您发送的邮件超过了我们能接收的大小上限（{limit} MB），因此未能受理。",
         "请减小或压缩附件后重新发送，或通过其他方式将文件提供给我们。",
         "（此邮件由系统自动发送。）"]),
    ("too_large", "en"): (
        "Your message was too large to be accepted",
        ["Hello,",
         "Your message is larger than the {limit} MB we can accept, so it was not taken in.",
         "Please send it again with smaller or compressed attachments, or share the files "
         "another way.",
         "(This message was sent automatically.)"]),
}


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    html: str


def locale_for(language: str, default: str) -> str:
    """zh_CN or en from a ticket language ("zh", "en", "zh_CN") or the site default."""
    for value in (language, default):
        value = (value or "").lower()
        if value.startswith("en"):
            return "en"
        if value.startswith("zh"):
            return "zh_CN"
    return "zh_CN"


def render(kind: str, locale: str, *, title: str = "", number: str = "",
           limit_bytes: int = 0) -> Notice:
    """The notice in `locale`. `title` is a web form's title (our wording, not the
    sender's), shortened and on one line; without it the subject is the plain phrase."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    head, paragraphs = _TEXTS[(kind, locale if locale in LOCALES else "zh_CN")]
    quoted = " ".join((title or "").split())
    if len(quoted) > TITLE_QUOTE:
        quoted = quoted[:TITLE_QUOTE - 1] + "…"
    values = {"number": number, "limit": max(1, limit_bytes // (1024 * 1024))}
    lines = [p.format(**values) for p in paragraphs]
    if "{title}" in head:
        head = head.format(title=quoted) if quoted else head.split("{")[0].rstrip(": ：")
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in lines)
    return Notice(
        subject=head, text="\n\n".join(lines) + "\n",
        html=f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n'
             f"</body></html>\n")
