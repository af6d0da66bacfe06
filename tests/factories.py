"""Builders for test data through the real services (no direct row inserts)."""
from __future__ import annotations

from dataclasses import dataclass

from appliance.models import User
from appliance.rules.access import SYSTEM, Actor
from appliance.services import customers, org, tickets, users


@dataclass
class Org:
    after_sales: int
    logistics: int
    admin: Actor
    agent: Actor            # 王芳, after-sales
    agent2: Actor           # 李雷, logistics
    supervisor: Actor       # after-sales lead
    customer: Actor         # 张三, a portal customer
    other_customer: Actor   # 李四
    passwords: dict


def actor(username: str) -> Actor:
    return users.actor_of(User.get(User.username == username))


def make_org() -> Org:
    a = org.save_department(SYSTEM, "AS", "售后", "After-sales")
    b = org.save_department(SYSTEM, "LOG", "物流", "Logistics")
    pw = {}
    for name, display, role, dept in (("admin", "管理员", "admin", None),
                                      ("wangfang", "王芳", "agent", a.id),
                                      ("lilei", "李雷", "agent", b.id),
                                      ("lead", "陈主管", "supervisor", a.id)):
        _, pw[name] = users.create_user(SYSTEM, name, display, role, department_id=dept)
    for name, display in (("zhangsan", "张三"), ("lisi", "李四")):
        pw[name] = "Kund3n-Passwort!"
        customers.sign_up(name, display, f"{name}@example.com", pw[name])
    return Org(a.id, b.id, actor("admin"), actor("wangfang"), actor("lilei"), actor("lead"),
               actor("zhangsan"), actor("lisi"), pw)


def ticket(settings, who: Actor, subject: str = "打印机无法打印", **fields):
    return tickets.create_ticket(who, tickets.TicketInput(subject=subject, **fields), settings)


def make_repair_team():
    """make_org() plus two more after-sales agents; 售后维修 levels: 王芳 4, 赵敏 2, 钱进 5."""
    from appliance.services import org as org_service
    o = make_org()
    repair = org_service.save_skill(SYSTEM, "售后维修")
    for username, display, level in (("zhao", "赵敏", 2), ("qian", "钱进", 5)):
        users.create_user(SYSTEM, username, display, "agent", department_id=o.after_sales)
        org_service.set_agent_skill(SYSTEM, actor(username).user_id, repair.id, level)
    org_service.set_agent_skill(SYSTEM, o.agent.user_id, repair.id, 4)
    return o, repair
