"""The wording of the satisfaction survey mail, in Chinese and English (pure: no database,
no flask). Like appliance.mail.notices it carries only our own words, the ticket number
and the links; nothing the customer or an agent wrote (the subject stays out too).
"""
from __future__ import annotations

import html
from dataclasses import dataclass

LOCALES = ("zh_CN", "en")
SCALE = (1, 2, 3, 4, 5)
NPS_SCALE = tuple(range(11))

_TEXTS = {
    "zh_CN": {
        "subject": "您对本次服务满意吗？",
        "intro": "您好：您的工单 {number} 已处理完毕。请点击下面的一个分数告诉我们您的满意度"
                 "（5 = 非常满意，1 = 非常不满意）：",
        "labels": {1: "1 非常不满意", 2: "2 不满意", 3: "3 一般", 4: "4 满意", 5: "5 非常满意"},
        "outro": "链接 {days} 天内有效，只能使用一次。（此邮件由系统自动发送。）",
    },
    "en": {
        "subject": "How satisfied are you with our service?",
        "intro": "Hello, your ticket {number} has been resolved. Please click one score to "
                 "tell us how satisfied you are (5 = very satisfied, 1 = very dissatisfied):",
        "labels": {1: "1 Very dissatisfied", 2: "2 Dissatisfied", 3: "3 Neutral",
                   4: "4 Satisfied", 5: "5 Very satisfied"},
        "outro": "The link is valid for {days} days and can be used once. "
                 "(This message was sent automatically.)",
    },
}


_NPS = {
    "zh_CN": {
        "subject": "您愿意向朋友推荐我们吗？",
        "intro": "您好：您最近联系过我们的客户服务。您有多大可能向朋友或同事推荐我们？"
                 "请点击一个分数（0 = 完全不可能，10 = 非常可能）：",
        "outro": "链接 {days} 天内有效，只能使用一次。（此邮件由系统自动发送。）",
    },
    "en": {
        "subject": "Would you recommend us to a friend?",
        "intro": "Hello, you contacted our support recently. How likely are you to recommend "
                 "us to a friend or colleague? Please click one score (0 = not at all likely, "
                 "10 = extremely likely):",
        "outro": "The link is valid for {days} days and can be used once. "
                 "(This message was sent automatically.)",
    },
}


@dataclass(frozen=True)
class SurveyMail:
    subject: str
    text: str
    html: str


def subject(locale: str, kind: str = "csat") -> str:
    texts = _NPS if kind == "nps" else _TEXTS
    return texts[locale if locale in LOCALES else "zh_CN"]["subject"]


def render_nps(locale: str, *, link: str, days: int) -> SurveyMail:
    """The NPS question in `locale`: one link per score 0-10."""
    t = _NPS[locale if locale in LOCALES else "zh_CN"]
    outro = t["outro"].format(days=days)
    scores = [(str(n), f"{link}?r={n}") for n in reversed(NPS_SCALE)]
    return _mail(t["subject"], t["intro"], scores, outro)


def _mail(subject_: str, intro: str, scores: list[tuple[str, str]], outro: str) -> SurveyMail:
    text = "\n\n".join([intro, *(f"{label}: {url}" for label, url in scores), outro]) + "\n"
    items = "\n".join(f'<li><a href="{html.escape(url)}">{html.escape(label)}</a></li>'
                      for label, url in scores)
    body = (f"<p>{html.escape(intro)}</p>\n<ul>\n{items}\n</ul>\n<p>{html.escape(outro)}</p>")
    return SurveyMail(subject=subject_, text=text,
                      html=f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
                           f"{body}\n</body></html>\n")


def render(locale: str, *, number: str, link: str, days: int) -> SurveyMail:
    """The mail in `locale`; `link` is the survey page, each score adds ?r=<score>."""
    t = _TEXTS[locale if locale in LOCALES else "zh_CN"]
    intro, outro = t["intro"].format(number=number), t["outro"].format(days=days)
    scores = [(t["labels"][n], f"{link}?r={n}") for n in reversed(SCALE)]
    return _mail(t["subject"], intro, scores, outro)
