"""Demo organisation and tickets for `gongdan demo load` (and so for `make run`).

Everything is made through the real services (the SYSTEM actor, the demo agents and
customers), so numbers, timelines, permissions and index jobs are the real thing.
Ticket texts come from the labelled public datasets in ../shared/data when present
(online_shopping_10_cats negative reviews and smp2017 for Chinese, bitext with its
`response` as the agent's reply and banking77 for English), else from the small
built-in list in `appliance.demo_texts`.

Why direct UPDATEs of timestamps: services stamp rows with utcnow(), so a demo made
in one go would look like it all happened in the last minute. Right after each step
of a ticket's story, the rows that step wrote (those stamped after the load began)
get the step's virtual time, spread over the last 90 days; at the end each ticket's
created/updated/first-response/resolved/closed times are derived from its timeline.
Nothing else bypasses the services.

The content is deterministic for a seed; passwords are generated, never fixed, and
written to `demo-logins.txt` (mode 0600) next to the SQLite database (var/ for
`make run`), or to ./var/ for PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from appliance import demo_texts as texts
from appliance.errors import Conflict
from appliance.jobs import unit_of_work
from appliance.demo_dispatch import make_dispatch
from appliance.models import (Category, Comment, Customer, CustomFieldDef, Department, Skill,
                              Team, Ticket, TimelineEvent, User, utcnow)
from appliance.rules.access import SYSTEM, Actor
from appliance.services import comments, customers, links, org, tickets, users
from appliance.settings import Settings

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SEED = 20260101
DAYS = 90
ENGLISH_SHARE = 0.4


@dataclass
class _Ctx:
    """What the ticket stories need: the organisation made, and a clock base."""
    settings: Settings
    rng: random.Random
    started: dt.datetime
    depts: dict[str, int] = field(default_factory=dict)          # code -> id
    categories: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (id, dept)
    agents: dict[str, list[Actor]] = field(default_factory=dict)  # dept code -> agents
    english: set[int] = field(default_factory=set)               # user ids speaking English
    supervisors: list[Actor] = field(default_factory=list)
    customers: list[tuple[int, str, Actor | None]] = field(default_factory=list)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    made: list[tuple[int, str]] = field(default_factory=list)    # (ticket id, category key)
    merge_at: int = 40                                           # story index of the merged pair


def load_demo(n_tickets: int = 300, data_dir: Path | None = None, *,
              settings: Settings | None = None, seed: int = SEED,
              logins_path: Path | None = None) -> list[tuple[str, str, str]]:
    """Create the demo organisation and `n_tickets` tickets; returns (username, password, role).

    Refuses when any ticket exists. One transaction: a failed load leaves nothing behind.
    """
    from appliance import runtime
    settings = settings or runtime.settings()
    pool = texts.load_pool(_data_dir(data_dir), random.Random(seed))  # nosec B311  # seeded demo data, not a secret
    ctx = _Ctx(settings, random.Random(seed), utcnow())  # nosec B311  # seeded demo data, not a secret
    with unit_of_work():
        existing = Ticket.select().count()
        if existing:
            raise Conflict(f"demo data loads only into a database without tickets "
                           f"({existing} exist)", tickets=existing)
        _make_org(ctx)
        make_dispatch(ctx.depts, ctx.categories)
        _make_customers(ctx)
        _make_tickets(ctx, pool, n_tickets)
        _backdate_people(ctx)
        from appliance.demo_processes import make_processes
        make_processes(ctx.depts, ctx.logins)  # after the tickets: new ones enter them
        from appliance.demo_knowledge import make_knowledge
        make_knowledge(ctx.agents["CS"][0], ctx.supervisors[0])
        from appliance.demo_surveys import make_surveys
        make_surveys(ctx.settings, ctx.started)  # answered CSAT/NPS, follow-up visits
        from appliance.demo_sla import make_sla
        make_sla()  # last: the first SLA run (scheduled here) finds every demo ticket
    _write_logins(ctx.logins, logins_path or _logins_path(settings))
    return ctx.logins


def _data_dir(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return DEFAULT_DATA_DIR if DEFAULT_DATA_DIR.is_dir() else None
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"demo data folder not found: {data_dir}")
    return Path(data_dir)


# --- organisation ---------------------------------------------------------------------

def _make_org(ctx: _Ctx) -> None:
    """Departments, staff with skills, teams, categories and custom fields.

    Things an administrator may have made already (same code, name or key) are reused."""
    for code, name, name_en, _ in texts.DEPARTMENTS:
        d = Department.get_or_none(Department.code == code)
        ctx.depts[code] = d.id if d else org.save_department(SYSTEM, code, name, name_en).id
    skills = {s: (Skill.get_or_none(Skill.name == s) or org.save_skill(SYSTEM, s)).id
              for s in texts.SKILLS}
    for username, display, role, code, email_name, skill_levels in texts.STAFF:
        view, password = users.create_user(
            SYSTEM, username, display, role, department_id=ctx.depts[code],
            # English-named staff prefer English; the others follow their browser.
            email=f"{email_name}@example.com", locale="en" if display.isascii() else "")
        ctx.logins.append((username, password, role))
        for skill, level in skill_levels.items():
            org.set_agent_skill(SYSTEM, view.id, skills[skill], level)
        actor = users.actor_of(User.get_by_id(view.id))
        (ctx.supervisors if role == "supervisor" else ctx.agents.setdefault(code, [])).append(actor)
        if "English" in skill_levels:
            ctx.english.add(view.id)
    for code, _, _, teams in texts.DEPARTMENTS:
        for k, team in enumerate(teams):  # the department's agents, shared out among its teams
            members = [a.user_id for a in ctx.agents[code]][k::len(teams)]
            if not Team.select().where((Team.department == ctx.depts[code])
                                       & (Team.name == team)).exists():
                org.add_team(SYSTEM, ctx.depts[code], team, members)
    _make_catalog(ctx)


def _make_catalog(ctx: _Ctx) -> None:
    for parent, code, children in texts.CATEGORIES:
        top = _category(parent, None, ctx.depts[code])
        for child in children:
            ctx.categories[f"{parent}/{child}"] = (_category(child, top, ctx.depts[code]), code)
    for position, (key, label, kind, options) in enumerate(texts.CUSTOM_FIELDS):
        if not CustomFieldDef.select().where(CustomFieldDef.key == key).exists():
            org.save_custom_field(SYSTEM, key, label, kind, options, position=position)


def _category(name: str, parent: int | None, dept: int) -> int:
    c = Category.get_or_none((Category.name == name) & (
        Category.parent.is_null() if parent is None else Category.parent == parent))
    return c.id if c else org.save_category(SYSTEM, name, parent_id=parent, department_id=dept).id


def _make_customers(ctx: _Ctx) -> None:
    people = texts.customer_people(ctx.rng, 60)
    for i, (name, company, email) in enumerate(people):
        phone = f"138 0000 {i + 1:04d}"  # the 138 0000 range is clearly fake
        view = customers.create_customer(SYSTEM, name, company=company, contacts=[
            {"kind": "phone", "value": phone, "label": "手机"},
            {"kind": "email", "value": email, "label": "work" if company else "home"}])
        ctx.customers.append((view.id, name, None))
    for i in texts.PORTAL_INDEXES:
        cid, name, _ = ctx.customers[i]
        email = people[i][2]
        username = email.split("@")[0]
        view, password = users.create_user(SYSTEM, username, name, "customer", customer_id=cid,
                                           email=email)
        ctx.customers[i] = (cid, name, users.actor_of(User.get_by_id(view.id)))
        ctx.logins.append((username, password, "customer"))


# --- tickets ----------------------------------------------------------------------------

def _make_tickets(ctx: _Ctx, pool: texts.Pool, n: int) -> None:
    # Creation times in ascending order, denser recently, so ids follow time like real life.
    ages = sorted((DAYS * ctx.rng.random() ** 1.6 for _ in range(n)), reverse=True)
    ctx.merge_at = min(40, n // 2)
    i = 0
    while len(ctx.made) < n:
        lang = "en" if ctx.rng.random() < ENGLISH_SHARE else "zh"
        src = pool.take(lang)
        when = ctx.started - dt.timedelta(days=ages[min(i, n - 1)], minutes=5)
        _story(ctx, src, when, i, room=n - len(ctx.made))
        i += 1


def _story(ctx: _Ctx, src: texts.Source, when: dt.datetime, i: int, room: int) -> None:
    """One ticket's life: creation, triage, conversation, maybe links, its final status."""
    clock = _Clock(ctx.started, when)
    status = _status(ctx.rng, (ctx.started - when).days)
    special = ("child" if i % 25 == 7 and room >= 2 else
               "merge" if i == ctx.merge_at and room >= 2 else "")
    if special == "child":
        status = "pending_internal"
    cid, _, portal = ctx.rng.choice(ctx.customers)
    triage = status == "new" and ctx.rng.random() < 0.4
    tid = _create(ctx, src, cid, portal, triage, when)
    clock.stamp(tid)
    ctx.made.append((tid, src.category))
    t = Ticket.get_by_id(tid)
    customer = portal or Actor(user_id=0, role="customer", customer_id=cid)
    if status == "new":
        if ctx.rng.random() < 0.25:
            clock.advance(ctx.rng, 30, 600)
            comments.add_comment(customer, tid, texts.pick(ctx.rng, "chase", src.lang), ctx.settings,
                                 channel=t.channel)
            clock.stamp(tid)
    else:
        _work(ctx, clock, src, t, customer, status)
    if special == "child":
        _child(ctx, clock, src, t)
    elif special == "merge":
        _duplicate(ctx, clock, src, t, customer)
    elif i % 20 == 11 and len(ctx.made) > 1:
        _relate(ctx, clock, tid, src.category)
    _finish(tid)


def _create(ctx: _Ctx, src: texts.Source, cid: int, portal: Actor | None, triage: bool,
            when: dt.datetime) -> int:
    cat_id, code = ctx.categories[src.category]
    fields = {"product_line": src.product}
    if src.order_no:
        fields.update(order_no=src.order_no, purchase_date=(
            when - dt.timedelta(days=ctx.rng.randint(2, 40))).date().isoformat())
    tags = [ctx.rng.choice(texts.TAGS)] if ctx.rng.random() < 0.2 else []
    data = tickets.TicketInput(subject=src.subject, description=src.description,
                               category_id=None if triage else cat_id, tags=tags,
                               custom_fields=fields)
    if portal is not None:
        tid = tickets.create_ticket(portal, data, ctx.settings).summary.id
        if not triage:  # staff triage what the customer filed
            tickets.update_ticket(SYSTEM, tid, {"department_id": ctx.depts[code],
                                                "priority": src.priority}, ctx.settings)
        return tid
    data.channel = ctx.rng.choice(texts.CHANNELS)
    data.customer_id, data.priority = cid, src.priority
    data.urgency = {1: "high", 2: "high", 3: "medium", 4: "low"}[src.priority]
    data.department_id = None if triage else ctx.depts[code]
    return tickets.create_ticket(SYSTEM, data, ctx.settings).summary.id


def _status(rng: random.Random, age_days: int) -> str:
    """Recent tickets are mostly still open; old ones mostly closed, as in a real queue."""
    if age_days < 2:
        weights = (35, 35, 15, 10, 5, 0)
    elif age_days < 10:
        weights = (5, 25, 15, 10, 30, 15)
    else:
        weights = (0, 5, 3, 2, 10, 80)
    return rng.choices(("new", "open", "pending_customer", "pending_internal", "resolved",
                        "closed"), weights)[0]


def _agent_for(ctx: _Ctx, code: str, lang: str) -> Actor:
    team = ctx.agents[code]
    speakers = [a for a in team if a.user_id in ctx.english]
    return ctx.rng.choice(speakers if lang == "en" and speakers else team)


def _work(ctx: _Ctx, clock: _Clock, src: texts.Source, t: Ticket, customer: Actor,
          status: str) -> None:
    """Assignment, first reply, notes and the moves to the ticket's final status."""
    rng, s = ctx.rng, ctx.settings
    code = ctx.categories[src.category][1]
    agent = _agent_for(ctx, code, src.lang)
    if t.department_id is None or rng.random() < 0.85:
        clock.advance(rng, 2, 90)
        leads = [a for a in ctx.supervisors if t.department_id in (None, a.department_id)]
        dispatcher = rng.choice(leads) if leads and rng.random() < 0.5 else SYSTEM
        tickets.update_ticket(dispatcher, t.id, {"department_id": ctx.depts[code],
                                                 "category_id": ctx.categories[src.category][0],
                                                 "assignee_id": agent.user_id}, s)
        clock.stamp(t.id)
    say = [(agent, src.reply or texts.reply(src), False)]
    if rng.random() < 0.3:
        say.append((agent, texts.pick(rng, "note", src.lang), True))
    if status == "pending_customer":
        say.append((agent, texts.pick(rng, "ask", src.lang), False))
    if status in ("resolved", "closed"):
        if rng.random() < 0.6:
            say.append((customer, texts.pick(rng, "follow", src.lang), False))
        say.append((agent, texts.pick(rng, "done", src.lang), False))
    for who, body, internal in say:
        clock.advance(rng, 10, 8 * 60)
        comments.add_comment(who, t.id, body, s, internal=internal,
                             channel="web" if who.is_staff else t.channel)
        clock.stamp(t.id)
    for step in _steps(status):
        clock.advance(rng, 30, 3 * 24 * 60 if step == "closed" else 12 * 60)
        tickets.transition_ticket(SYSTEM if step == "closed" else agent, t.id, step, s)
        clock.stamp(t.id)


def _steps(status: str) -> list[str]:
    return {"pending_customer": ["pending_customer"], "pending_internal": ["pending_internal"],
            "resolved": ["resolved"], "closed": ["resolved", "closed"]}.get(status, [])


def _child(ctx: _Ctx, clock: _Clock, src: texts.Source, parent: Ticket) -> None:
    """A sub-ticket for another department, worked by one of its agents."""
    rng = ctx.rng
    code = Department.get_by_id(Ticket.get_by_id(parent.id).department_id).code
    other = texts.HANDOFF.get(code, "LOG")
    agent = _agent_for(ctx, other, src.lang)
    clock.advance(rng, 20, 240)
    asker = rng.choice(ctx.agents[code])
    child = links.create_subticket(asker, parent.id, tickets.TicketInput(
        subject=texts.handoff_subject(src), description=texts.pick(rng, "handoff", src.lang),
        department_id=ctx.depts[other], priority=src.priority), ctx.settings).summary.id
    clock.stamp(parent.id, child)
    clock.advance(rng, 10, 120)
    tickets.update_ticket(SYSTEM, child, {"assignee_id": agent.user_id}, ctx.settings)
    comments.add_comment(agent, child, texts.pick(rng, "note", src.lang), ctx.settings,
                         internal=True)
    tickets.transition_ticket(agent, child, "open", ctx.settings)
    clock.stamp(child)
    ctx.made.append((child, src.category))
    _finish(child)


def _duplicate(ctx: _Ctx, clock: _Clock, src: texts.Source, t: Ticket, customer: Actor) -> None:
    """The customer files the same problem again by email; an agent merges the two."""
    clock.advance(ctx.rng, 30, 300)
    dup = tickets.create_ticket(SYSTEM, tickets.TicketInput(
        subject=src.subject, description=src.description, channel="email",
        customer_id=customer.customer_id, department_id=t.department_id), ctx.settings).summary.id
    clock.stamp(dup)
    ctx.made.append((dup, src.category))
    clock.advance(ctx.rng, 20, 240)
    links.merge_tickets(SYSTEM, dup, t.id, ctx.settings)
    clock.stamp(dup, t.id)
    _finish(dup)


def _relate(ctx: _Ctx, clock: _Clock, tid: int, category: str) -> None:
    """Link to an earlier ticket about the same kind of problem (same category if any)."""
    earlier = ctx.made[:-1]
    top = category.split("/")[0]
    same = ([o for o, cat in earlier if cat == category]
            or [o for o, cat in earlier if cat.split("/")[0] == top] or [o for o, _ in earlier])
    clock.advance(ctx.rng, 5, 60)
    links.link_tickets(SYSTEM, tid, same[-1], "related", ctx.settings)
    clock.stamp(tid, same[-1])


# --- time -------------------------------------------------------------------------------

class _Clock:
    """Virtual time of one ticket's story; `stamp` moves the latest step's rows to it."""

    def __init__(self, started: dt.datetime, when: dt.datetime):
        self.started, self.now = started, when
        self.limit = started - dt.timedelta(minutes=1)

    def advance(self, rng: random.Random, low_minutes: int, high_minutes: int) -> None:
        step = dt.timedelta(minutes=rng.uniform(low_minutes, high_minutes))
        self.now = min(self.now + step, self.limit)

    def stamp(self, *ticket_ids: int) -> None:
        # Rows stamped at or after the load began are the ones this step just wrote.
        for model in (TimelineEvent, Comment):
            model.update(created_at=self.now).where(
                model.ticket.in_(ticket_ids) & (model.created_at >= self.started)).execute()


def _finish(tid: int) -> None:
    """Derive the ticket's own times from its (backdated) timeline."""
    t = Ticket.get_by_id(tid)
    events = list(TimelineEvent.select().where(TimelineEvent.ticket == tid)
                  .order_by(TimelineEvent.created_at, TimelineEvent.id))
    first_reply = (Comment.select(Comment.created_at).where(
        (Comment.ticket == tid) & (Comment.author_kind == "agent") & (Comment.internal == False))  # noqa: E712
        .order_by(Comment.created_at).first())
    ended = {e.after: e.created_at for e in events if e.field == "status"}
    merged = [e.created_at for e in events if e.kind == "merged" and e.field == "merged_into"]
    closed = ended.get("closed") or (merged[-1] if merged else None)
    changes = {"created_at": events[0].created_at, "updated_at": events[-1].created_at}
    if t.first_response_at and first_reply:
        changes["first_response_at"] = first_reply.created_at
    if t.resolved_at:
        changes["resolved_at"] = ended.get("resolved") or closed
    if t.closed_at:
        changes["closed_at"] = closed
    assigned = [e.created_at for e in events if e.kind == "assigned" and e.after is not None]
    if t.assigned_at and assigned:
        changes["assigned_at"] = assigned[-1]
    Ticket.update(**changes).where(Ticket.id == tid).execute()


def _backdate_people(ctx: _Ctx) -> None:
    """Customers and staff existed before the oldest demo ticket."""
    before = ctx.started - dt.timedelta(days=DAYS + 30)
    Customer.update(created_at=before).where(Customer.created_at >= ctx.started).execute()
    User.update(created_at=before).where(User.created_at >= ctx.started).execute()


# --- logins -----------------------------------------------------------------------------

def _logins_path(settings: Settings) -> Path:
    url = settings.database_url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url[len("sqlite:///"):]).parent / "demo-logins.txt"
    return Path("var") / "demo-logins.txt"


def _write_logins(logins: list[tuple[str, str, str]], path: Path) -> None:
    """Owner-only file: these are real, working passwords."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode on O_TRUNC; tighten it anyway
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# Gongdan demo logins (from `gongdan demo load`); delete when done\n")
        for username, password, role in logins:
            f.write(f"{role:<11} {username:<14} {password}\n")
