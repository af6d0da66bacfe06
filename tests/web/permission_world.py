"""A small organisation with one account per role and real objects, for requesting every
endpoint as every role (tests/web/test_permission_matrix.py)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from appliance.db import database
from appliance.models import Attachment, Comment, User
from appliance.rules.access import SYSTEM
from appliance.services import tickets, users
from tests.factories import actor, make_org

ROLE_USERS = {"customer": "zhangsan", "agent": "wangfang", "supervisor": "lead",
              "admin": "admin", "security_admin": "sec", "audit_admin": "auditor"}
# Tables a refused request may still write: the audit log (access.denied), sessions and
# tokens (last seen), rate-limit windows and presence. Everything else must not change.
BOOKKEEPING = re.compile(r"audit|session|api_token|rate|presence|schema_migration")


@dataclass
class World:
    org: object
    passwords: dict
    ids: dict = field(default_factory=dict)       # URL parameter name → an object in scope
    foreign: dict = field(default_factory=dict)   # URL parameter name → one outside it


def build(settings) -> World:
    o = make_org()
    pw = dict(o.passwords)
    for name, role in (("sec", "security_admin"), ("auditor", "audit_admin"),
                       ("spare", "agent")):
        _, pw[name] = users.create_user(SYSTEM, name, name.title(), role,
                                        department_id=o.after_sales if role == "agent" else None)
    mine = tickets.create_ticket(o.customer, tickets.TicketInput(
        subject="打印机无法打印", description="第三层的打印机卡纸"), settings)
    theirs = tickets.create_ticket(o.agent2, tickets.TicketInput(
        subject="包裹丢失", description="快递显示已签收", department_id=o.logistics,
        customer_id=o.other_customer.customer_id), settings)
    w = World(o, pw)
    spare = User.get(User.username == "spare").id
    w.ids = {"ticket_id": mine.summary.id, "customer_id": o.customer.customer_id, "user_id": spare,
             "department_id": o.after_sales, "token_id": 999_999, "kind": "related",
             "target_id": theirs.summary.id}
    w.foreign = {"ticket_id": theirs.summary.id, "customer_id": o.other_customer.customer_id}
    _attachments(w, mine.summary.id, theirs.summary.id)
    return w


def _attachments(w: World, mine: int, theirs: int) -> None:
    for key, tid in (("ids", mine), ("foreign", theirs)):
        a = Attachment.select().where(Attachment.ticket == tid).first()
        c = Comment.select().where(Comment.ticket == tid).first()
        if a is not None:
            getattr(w, key)["attachment_id"] = a.id
        if c is not None:
            getattr(w, key)["comment_id"] = c.id


def fingerprint() -> str:
    """A hash of every row of every table but the bookkeeping ones."""
    h = hashlib.sha256()
    for table in sorted(database.get_tables()):
        if BOOKKEEPING.search(table):
            continue
        for row in database.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall():
            h.update(repr((table, row)).encode())
    return h.hexdigest()


def actor_of(username: str):
    return actor(username)
