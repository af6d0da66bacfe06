"""The demo's knowledge base (`gongdan demo load`): a few published articles in Chinese
with English translations, an internal one, a draft waiting for review, one synonym
set, and links from resolved demo tickets to the articles that answer them, so the
suggestions, the portal and the metrics page show something on a fresh install.
"""
from __future__ import annotations

from appliance.models import ArticleTicket, Category, SynonymSet, Ticket
from appliance.rules.access import Actor
from appliance.services import knowledge, knowledge_review

# (category path, zh title, zh body, en title, en body, tags, visibility)
ARTICLES = (
    ("支付/退款", "如何申请退款",
     "## 适用情况\n订单已付款但需要退货或取消。\n\n## 步骤\n1. 打开“我的订单”，选择要退款的订单。\n"
     "2. 点击“申请退款”，选择原因并提交。\n3. 审核通过后，款项在 1–3 个工作日内原路退回。\n\n"
     "退款进度可在订单详情中查看。",
     "How to request a refund",
     "## When\nYou paid for an order and want to return or cancel it.\n\n## Steps\n"
     "1. Open *My orders* and choose the order.\n2. Click *Request refund*, pick a reason and submit.\n"
     "3. Once approved, the money goes back to the original payment method within 1–3 working days.",
     ["退款", "订单"], "public"),
    ("账户/登录问题", "忘记密码怎么办",
     "在登录页点击“忘记密码”，输入注册手机号获取验证码，然后设置新密码。\n\n"
     "如果手机号已停用，请提交工单并上传身份证明，我们会人工核验后重置。",
     "I forgot my password",
     "On the sign-in page click *Forgot password*, enter your registered mobile number, "
     "type the code you receive and set a new password.\n\nIf that number is no longer yours, "
     "open a ticket with proof of identity and we reset it after checking.",
     ["密码", "登录"], "public"),
    ("物流/配送延迟", "快递超过预计时间未送达",
     "1. 在订单详情查看物流轨迹。\n2. 超过预计送达时间 48 小时仍无更新，可申请催件。\n"
     "3. 包裹丢失时我们会补发或全额退款。",
     "My parcel is late",
     "1. Check the tracking history in the order details.\n2. No update for 48 hours past the "
     "promised date? Ask us to chase the courier.\n3. If the parcel is lost we resend it or refund in full.",
     ["物流", "快递"], "public"),
    ("财务/发票", "如何开具电子发票",
     "订单完成后，在订单详情点击“申请发票”，填写抬头和税号，电子发票会在 24 小时内发送到您的邮箱。",
     "How to get an e-invoice",
     "After the order is completed, click *Request invoice* in the order details and enter the "
     "company name and tax number; the e-invoice reaches your mailbox within 24 hours.",
     ["发票"], "public"),
    ("技术/应用故障", "App 闪退的处理方法",
     "1. 将 App 更新到最新版本。\n2. 清除缓存后重启手机。\n3. 仍然闪退时，请在工单中注明手机型号和系统版本。",
     "The app keeps crashing",
     "1. Update the app to the latest version.\n2. Clear its cache and restart the phone.\n"
     "3. Still crashing? Open a ticket with your phone model and OS version.",
     ["App", "闪退"], "public"),
)
INTERNAL = ("售后/维修", "维修工单的内部处理流程",
            "1. 确认保修期（购买日期字段）。\n2. 保修期内：安排上门或寄修，费用为零。\n"
            "3. 保修期外：先报价，客户确认后再派单。\n\n仅供内部参考，不要发给客户。",
            ["维修", "保修"])
DRAFT = ("支付/银行卡", "银行卡绑定失败的常见原因",
         "- 预留手机号与银行不一致\n- 银行卡已过期或被冻结\n- 单日绑定次数超过限制", ["银行卡"])
SYNONYMS = (["退款", "退钱", "返款", "退费"], ["闪退", "崩溃", "crash"])


def _category(path: str) -> int | None:
    parent = None
    for name in path.split("/"):
        row = Category.get_or_none((Category.name == name) & (
            Category.parent.is_null() if parent is None else Category.parent == parent))
        if row is None:
            return None
        parent = row.id
    return parent


def make_knowledge(author: Actor, reviewer: Actor) -> int:
    """Write, review and publish the demo articles; returns how many were made."""
    made = 0
    for path, zh_title, zh_body, en_title, en_body, tags, visibility in ARTICLES:
        cid = _category(path)
        zh = knowledge.create_article(author, knowledge.ArticleInput(
            zh_title, zh_body, "zh", visibility, tags, cid))
        en = knowledge.create_article(author, knowledge.ArticleInput(
            en_title, en_body, "en", visibility, tags, cid, translation_of=zh.id))
        for a in (zh, en):
            knowledge_review.transition(author, a.id, "submit")
            knowledge_review.transition(reviewer, a.id, "approve")
        _link_resolved(zh.id, cid, author)
        made += 2
    path, title, body, tags = INTERNAL
    internal = knowledge.create_article(author, knowledge.ArticleInput(
        title, body, "zh", "internal", tags, _category(path)))
    knowledge_review.transition(reviewer, internal.id, "approve")
    path, title, body, tags = DRAFT
    draft = knowledge.create_article(author, knowledge.ArticleInput(
        title, body, "zh", "public", tags, _category(path)))
    knowledge_review.transition(author, draft.id, "submit")
    for words in SYNONYMS:
        SynonymSet.create(words=words)
    return made + 2


def _link_resolved(article_id: int, category_id: int | None, author: Actor) -> None:
    """Mark a few resolved demo tickets of the article's category as answered by it."""
    if category_id is None:
        return
    # The most recently resolved: the metrics page opens on the last 30 days.
    rows = (Ticket.select(Ticket.id).where((Ticket.category == category_id)
                                           & Ticket.status.in_(("resolved", "closed")))
            .order_by(Ticket.resolved_at.desc(), Ticket.id).limit(3))
    for t in rows:
        ArticleTicket.create(article=article_id, ticket=t.id, kind="related",
                             created_by=author.user_id or None)
