"""Demo satisfaction and follow-up data (issue 10) for `gongdan demo load`: answered CSAT
surveys and NPS answers so the results page has figures, the agents' CSAT in AgentStat,
and a follow-up rule with visits that are due, retried and done.

Deterministic (its own seeded generator) and quick: one pass over the demo's surveys, at
most VISITS visits. Why direct writes for the survey answers: a customer answers through
a single-use link whose token exists only in the mail (never stored), and a low answer
through the service would reopen demo tickets; the demo wants the figures, not that. The
visits go through the services (the rule, the scheduling, the recorded calls).
"""
from __future__ import annotations

import datetime as dt
import random

from appliance.models import Category, Customer, FollowUpVisit, Survey, Ticket, User
from appliance.rules.access import SYSTEM
from appliance.settings import Settings

SEED = 20261010
ANSWER_SHARE = 0.6
RATINGS = (5, 5, 5, 4, 4, 4, 3, 2, 1)          # mostly content, as real results are
NPS_SCORES = (10, 10, 9, 9, 9, 8, 8, 7, 6, 5, 3)
VISITS = 8
RULE = {"name": "售后与服务回访 After-sales follow-up", "delay_minutes": 1440,
        "script": "您好，这里是客服中心回访。\n\n1. 您的问题解决了吗？\n2. 对处理结果满意吗？\n\n"
                  "Hello, this is the service centre following up.\n\n"
                  "1. Is your problem solved?\n2. Are you satisfied with how it was handled?",
        "assign_to": "resolver", "max_attempts": 3, "retry_minutes": 240}


def make_surveys(settings: Settings, started: dt.datetime) -> dict:
    """Answers, NPS and visits; returns how many of each were made."""
    rng = random.Random(SEED)  # nosec B311  # seeded demo data, not a secret
    made = {"csat": _answer_csat(rng), "nps": _nps(rng, started)}
    made["visits"] = _visits(settings)
    from appliance.services import agent_stats
    agent_stats.recompute_all()          # the agents' CSAT for routing, as the night would
    return made


def _answer_csat(rng: random.Random) -> int:
    """The demo's surveys as of their (backdated) resolutions, about 60% answered."""
    count = 0
    resolved = dict(Ticket.select(Ticket.id, Ticket.resolved_at).where(
        Ticket.resolved_at.is_null(False)).tuples())
    for s in Survey.select().where(Survey.kind == "csat").order_by(Survey.id):
        at = resolved.get(s.ticket_id)
        if at is None:
            continue
        row = {"resolved_at": at, "created_at": at, "expires_at": at + dt.timedelta(days=14)}
        if rng.random() < ANSWER_SHARE:
            row.update(rating=rng.choice(RATINGS), answered_via="link",
                       answered_at=at + dt.timedelta(hours=rng.uniform(1, 48)))
            count += 1
        Survey.update(**row).where(Survey.id == s.id).execute()
    return count


def _nps(rng: random.Random, started: dt.datetime) -> int:
    """One NPS answer for about half of the customers with a resolved ticket."""
    count = 0
    ids = [c for (c,) in Ticket.select(Ticket.customer).distinct().where(
        Ticket.customer.is_null(False) & Ticket.resolved_at.is_null(False))
        .order_by(Ticket.customer).tuples()]
    for cid in ids:
        if rng.random() >= 0.5:
            continue
        asked = started - dt.timedelta(days=rng.uniform(1, 60))
        dept = (Ticket.select(Ticket.department).where(Ticket.customer == cid)
                .order_by(Ticket.resolved_at.desc()).scalar())
        Survey.create(kind="nps", customer=cid, department=dept, created_at=asked,
                      expires_at=asked + dt.timedelta(days=14), period_key=f"nps:{cid}:demo",
                      rating=rng.choice(NPS_SCORES), answered_via="link",
                      answered_at=asked + dt.timedelta(hours=rng.uniform(1, 72)))
        count += 1
    return count


def _visits(settings: Settings) -> int:
    """The rule, then visits for the latest resolutions it covers: the first three called
    (satisfied), one unreachable once (tried again later), the rest due."""
    from appliance.services import follow_up, follow_up_rules, users
    tops = [c for (c,) in Category.select(Category.id).where(
        Category.parent.is_null() & Category.name.in_(("售后", "服务"))).tuples()]
    if not tops or Customer.select().count() == 0:
        return 0
    follow_up_rules.save_rule(SYSTEM, None, {**RULE, "category_ids": tops})
    children = [c for (c,) in Category.select(Category.id).where(Category.parent.in_(tops)).tuples()]
    rows = (Ticket.select().where(Ticket.category.in_(tops + children)
                                  & (Ticket.status.in_(("resolved", "closed")))
                                  & Ticket.customer.is_null(False) & Ticket.assignee.is_null(False)
                                  & Ticket.merged_into.is_null())
            .order_by(Ticket.resolved_at.desc()).limit(VISITS))
    made = [v for v in (follow_up.on_resolved(t, t.resolved_at, settings) for t in rows) if v]
    for i, visit_id in enumerate(made[:4]):
        v = FollowUpVisit.get_by_id(visit_id)
        caller = users.actor_of(User.get_by_id(v.agent_id))
        outcome, note = (("unreachable", "无人接听 No answer") if i == 3
                         else ("satisfied", "客户表示已解决 The customer says it is solved"))
        follow_up.record_outcome(caller, visit_id, outcome, note, settings)
    return len(made)
