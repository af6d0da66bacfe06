"""Follow-up visits (回访, docs/decisions/0038): a call to the customer some time after a
ticket was resolved, when the resolution matches an administrator's rule.

Scheduling runs inside the transaction that resolves the ticket, next to the CSAT survey
(services.csat.on_resolved), and is keyed the same way by (ticket, resolved_at): one visit
per resolution however often the code path runs, a new one after a reopen.

Recording the call: only staff who may work the ticket; the call is written as an
internal note on the phone channel (the ticket's conversation, as a phone call logged by
an agent) plus a timeline event with the outcome. "not_solved" reopens the ticket within
the reopen window (rules.states, through services.tickets) and later opens a related
follow-up ticket, as a late mail reply does (rules.mail_threading.after_reply_to_closed);
"unreachable" schedules another try until the rule's attempts are spent. A visit that is
no longer scheduled cannot change (409).

Customers never see visits or scripts: every reader here must be staff.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from peewee import IntegrityError

from appliance import dto
from appliance.db import database
from appliance.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import (Customer, Department, FollowUpRule, FollowUpVisit, Team,
                              TeamMember, Ticket, User, utcnow)
from appliance.rules import follow_up as rules
from appliance.rules.access import SYSTEM, Actor
from appliance.rules.mail_threading import after_reply_to_closed
from appliance.services import common
from appliance.settings import Settings

log = logging.getLogger(__name__)
MAX_NOTE = 2000
OUTCOME_WORDS = {"satisfied": "satisfied (满意)", "not_solved": "not solved (未解决)",
                 "unreachable": "unreachable (未接通)"}


class VisitClosed(DomainError):
    """The visit has its outcome already (or was cancelled): it cannot change."""
    code = "visit_closed"
    http_status = 409


@dataclass(frozen=True)
class VisitView:
    id: int
    ticket: dto.Ref              # name: the ticket number
    ticket_subject: str
    ticket_status: str
    customer: dto.Ref | None
    department: dto.Ref | None
    agent: dto.Ref | None        # None: the department's pool
    script: str
    due_at: dt.datetime
    status: str
    outcome: str
    attempts: int
    max_attempts: int
    note: str
    follow_up_ticket_id: int | None
    done_at: dt.datetime | None
    overdue: bool
    version: int
    team: dto.Ref | None = None  # a team's pool


# -- scheduling (inside the resolving transaction) -----------------------------------------

def on_resolved(t: Ticket, resolved_at: dt.datetime, settings: Settings) -> int | None:
    """Schedule the visit of this resolution when a rule matches; None when none does or
    the visit exists already."""
    if t.customer_id is None:
        return None
    active = list(FollowUpRule.select().where(FollowUpRule.active == True))  # noqa: E712
    if not active:
        return None
    from appliance.services.follow_up_rules import facts
    from appliance.services.sla_config import category_parents
    tags = Customer.select(Customer.tags).where(Customer.id == t.customer_id).scalar() or []
    ticket = rules.TicketFacts(t.category_id, t.customer_id,
                               frozenset(str(x).strip().casefold() for x in tags))
    chosen = rules.matching_rule([facts(r) for r in active], ticket, category_parents())
    if chosen is None:
        return None
    rule = next(r for r in active if r.id == chosen.id)
    return _create(t, resolved_at, rule)


def _pool(t: Ticket, rule: FollowUpRule) -> tuple[int | None, int | None, int | None]:
    """(agent, department, team) who calls: the resolver (their ticket's department is the
    fallback pool when nobody was assigned), a department's pool, or a team's."""
    if rule.assign_to == "team" and rule.pool_team_id:
        dept = Team.select(Team.department).where(Team.id == rule.pool_team_id).scalar()
        return None, dept, rule.pool_team_id
    if rule.assign_to == "department":
        return None, rule.pool_department_id or t.department_id, None
    return t.assignee_id, t.department_id, None


def _create(t: Ticket, resolved_at: dt.datetime, rule: FollowUpRule) -> int | None:
    agent, pool, team = _pool(t, rule)
    due = rules.due_at(resolved_at, dt.timedelta(minutes=rule.delay_minutes),
                       _business_adder(pool) if rule.business_time else None)
    try:
        with database.atomic():   # a savepoint: a duplicate leaves the resolution intact
            v = FollowUpVisit.create(
                ticket=t.id, resolved_at=resolved_at, rule=rule.id, customer=t.customer_id,
                department=pool, agent=agent, team=team, resolver=t.assignee_id,
                script=rule.script,
                due_at=due, max_attempts=rule.max_attempts, retry_minutes=rule.retry_minutes)
    except IntegrityError:
        return None
    common.record(t.id, SYSTEM, "follow_up_scheduled", "", None,
                  {"visit_id": v.id, "due_at": due.isoformat()}, internal=True)
    return v.id


def _business_adder(department_id: int | None):
    """start, delay -> naive UTC, on the department's SLA calendar (else the default)."""
    from appliance.models import SlaCalendar
    from appliance.rules.business_calendar import add_business_time
    from appliance.services.sla_config import to_rule
    row = (SlaCalendar.get_or_none(SlaCalendar.department == department_id)
           if department_id else None) or SlaCalendar.get_or_none(
        SlaCalendar.department.is_null())
    if row is None:
        return None                               # no calendar at all: plain hours
    cal = to_rule(row)

    def add(start: dt.datetime, delay: dt.timedelta) -> dt.datetime:
        aware = start.replace(tzinfo=dt.timezone.utc)
        return add_business_time(cal, aware, delay).astimezone(dt.timezone.utc).replace(
            tzinfo=None)
    return add


# -- reading ---------------------------------------------------------------------------------

def _require_staff(actor: Actor, *, listing: bool = False) -> None:
    """Visits and scripts are for staff: a list says so (403), one visit is not found."""
    if not actor.is_staff:
        if listing:
            raise PermissionDenied("staff only")
        raise NotFound("follow-up visit not found")


def _scheduled_visible(actor: Actor):
    from appliance.services.callbacks import _visible   # can_view_ticket as SQL (kept in step)
    return (FollowUpVisit.select().join(Ticket, on=(FollowUpVisit.ticket == Ticket.id))
            .where((FollowUpVisit.status == "scheduled") & _visible(actor)))


def mine(actor: Actor, limit: int = 200) -> list[VisitView]:
    """The actor's scheduled visits on tickets they may still see, earliest due first."""
    _require_staff(actor, listing=True)
    rows = (_scheduled_visible(actor).where(FollowUpVisit.agent == actor.user_id)
            .order_by(FollowUpVisit.due_at, FollowUpVisit.id).limit(limit))
    return _views(list(rows))


def department_queue(actor: Actor, limit: int = 200) -> list[VisitView]:
    """Agents: the unclaimed visits of their department's pool. Supervisors: every
    scheduled visit of their department. Holders of ticket.view_all: every one."""
    _require_staff(actor, listing=True)
    q = _scheduled_visible(actor)
    if not actor.can("ticket.view_all"):
        if actor.department_id is None:
            return []
        q = q.where(FollowUpVisit.department == actor.department_id)
        if not actor.can("report.view"):
            q = q.where(FollowUpVisit.agent.is_null() & (
                FollowUpVisit.team.is_null() | FollowUpVisit.team.in_(_teams_of(actor))))
    return _views(list(q.order_by(FollowUpVisit.due_at, FollowUpVisit.id).limit(limit)))


def _teams_of(actor: Actor):
    return TeamMember.select(TeamMember.team).where(TeamMember.user == actor.user_id)


def _is_caller(actor: Actor, v: FollowUpVisit) -> bool:
    """Whoever is to call: the visit's agent, or a member of its pool while nobody took it."""
    if v.status != "scheduled":
        return False
    if v.agent_id is not None:
        return v.agent_id == actor.user_id
    if v.department_id is None or v.department_id != actor.department_id:
        return False
    return v.team_id is None or TeamMember.select().where(
        (TeamMember.team == v.team_id) & (TeamMember.user == actor.user_id)).exists()


def due_count(actor: Actor) -> int:
    if not actor.is_staff:
        return 0
    return (_scheduled_visible(actor).where((FollowUpVisit.agent == actor.user_id)
                                            & (FollowUpVisit.due_at <= utcnow())).count())


def get_visit(actor: Actor, visit_id) -> VisitView:
    v, _ = _load(actor, visit_id, edit=False)
    return _views([v])[0]


def for_ticket(actor: Actor, ticket_id: int) -> list[VisitView]:
    _require_staff(actor, listing=True)
    t = common.ticket_for(actor, ticket_id)
    return _views(list(FollowUpVisit.select().where(FollowUpVisit.ticket == t.id)
                       .order_by(FollowUpVisit.id.desc())))


def phone_numbers(actor: Actor, visit_id) -> list[str]:
    """The customer's phone numbers for the call: in full for whoever is to call (the
    visit's agent, or a member of its pool while nobody took it), as callbacks show
    their number to the agent who calls back; else as rules.pii lets the reader see them."""
    from appliance.rules.pii import mask_contact
    from appliance.services import contacts
    from appliance.services.customers import full_contacts
    v, _ = _load(actor, visit_id, edit=False)
    if v.customer_id is None:
        return []
    numbers = [c.value for c in contacts.of_customer(v.customer_id, "phone")]
    if _is_caller(actor, v) or full_contacts(actor, v.customer_id):
        return numbers
    return [mask_contact("phone", n) for n in numbers]


def _load(actor: Actor, visit_id, *, edit: bool, lock: bool = False):
    _require_staff(actor)
    try:
        pk = int(visit_id)
    except (TypeError, ValueError):
        raise NotFound("follow-up visit not found") from None
    v = FollowUpVisit.get_or_none(FollowUpVisit.id == pk)
    if v is None:
        raise NotFound("follow-up visit not found", id=pk)
    try:
        t = common.ticket_for(actor, v.ticket_id, edit=edit, lock=lock)
    except NotFound:
        raise NotFound("follow-up visit not found", id=pk) from None
    return v, t


def _views(rows: list[FollowUpVisit]) -> list[VisitView]:
    if not rows:
        return []
    tickets = {t.id: t for t in Ticket.select(Ticket.id, Ticket.number, Ticket.subject,
                                              Ticket.status).where(
        Ticket.id.in_({v.ticket_id for v in rows}))}
    cache = _names(rows)
    now = utcnow()
    return [VisitView(
        v.id, dto.Ref(v.ticket_id, tickets[v.ticket_id].number), tickets[v.ticket_id].subject,
        tickets[v.ticket_id].status, common.cached_ref(Customer, v.customer_id, cache),
        common.cached_ref(Department, v.department_id, cache),
        common.cached_ref(User, v.agent_id, cache, "display_name"), v.script, v.due_at,
        v.status, v.outcome, v.attempts, v.max_attempts, v.note, v.follow_up_id, v.done_at,
        v.status == "scheduled" and v.due_at <= now, v.version,
        common.cached_ref(Team, v.team_id, cache)) for v in rows]


def _names(rows: list[FollowUpVisit]) -> dict:
    """The customers', departments' and agents' names, one query each (the cache that
    common.cached_ref reads), so a list of visits costs the same few queries at any length."""
    cache: dict = {}
    for model, attr, name in ((Customer, "customer_id", "name"),
                              (Department, "department_id", "name"),
                              (User, "agent_id", "display_name"), (Team, "team_id", "name")):
        ids = {getattr(v, attr) for v in rows} - {None}
        for ref in common.refs(model, ids, name) if ids else ():
            cache[(model, ref.id)] = ref
    return cache


# -- recording the call ----------------------------------------------------------------------

def record_outcome(actor: Actor, visit_id, outcome, note, settings: Settings, *,
                   expected_version=None) -> VisitView:
    """Record one call of a scheduled visit (see the module's docstring)."""
    values = common.check_all({"outcome": lambda: _outcome(outcome),
                               "note": lambda: common.clean_text(note, "note",
                                                                 max_len=MAX_NOTE)})
    with unit_of_work():
        v, t = _load(actor, visit_id, edit=True, lock=True)
        if v.status != "scheduled":
            raise VisitClosed("this follow-up visit is closed already", status=v.status)
        _check_version(v, expected_version)
        now, attempt = utcnow(), v.attempts + 1
        row = {"attempts": attempt, "note": values["note"], "done_by": actor.user_id or None}
        row["call_note"] = _call_note(actor, t, values["outcome"], attempt, values["note"],
                                      settings)
        row.update(_result(actor, v, t, values["outcome"], attempt, values["note"], now,
                           settings))
        n = (FollowUpVisit.update(**row, version=FollowUpVisit.version + 1)
             .where((FollowUpVisit.id == v.id) & (FollowUpVisit.version == v.version)).execute())
        if n != 1:
            raise Conflict("the visit was changed by someone else; reload and try again")
        common.record(t.id, actor, "follow_up_recorded", "outcome", None,
                      {"visit_id": v.id, "outcome": values["outcome"], "attempt": attempt,
                       "status": row.get("status", "scheduled")}, internal=True)
    return get_visit(actor, v.id)


def _outcome(value) -> str:
    if value not in rules.OUTCOMES:
        raise ValidationError({"outcome": "must be one of " + ", ".join(rules.OUTCOMES)})
    return value


def _check_version(v: FollowUpVisit, expected) -> None:
    if expected in (None, ""):
        return
    if str(expected).strip() != str(v.version):
        raise Conflict("the visit was changed by someone else; reload and try again",
                       current_version=v.version)


def _call_note(actor: Actor, t: Ticket, outcome: str, attempt: int, note: str,
               settings: Settings) -> int:
    """The call as the ticket's conversation records phone calls: an internal note on the
    phone channel (never shown to the customer)."""
    from appliance.services import comments
    body = f"Follow-up visit call {attempt} (回访电话): {OUTCOME_WORDS[outcome]}"
    body += f"\n\n{note}" if note else ""
    return comments.add_comment(actor, t.id, body, settings, internal=True,
                                channel="phone").id


def _result(actor: Actor, v: FollowUpVisit, t: Ticket, outcome: str, attempt: int,
            note: str, now: dt.datetime, settings: Settings) -> dict:
    closed = {"status": "closed", "outcome": outcome, "done_at": now}
    if outcome == "satisfied":
        return closed
    if outcome == "unreachable":
        again = rules.next_attempt(now, v.retry_minutes, attempt, v.max_attempts)
        return closed if again is None else {"due_at": again, "reminded_at": None}
    return {**closed, "follow_up": _not_solved(actor, t, note, now, settings)}


def _not_solved(actor: Actor, t: Ticket, note: str, now: dt.datetime,
                settings: Settings) -> int:
    """Reopen within the window, else a related follow-up ticket; the ticket that took it."""
    t = Ticket.get_by_id(t.id)   # the call note moved its version on
    action = after_reply_to_closed(t.status, t.closed_at or t.resolved_at, now,
                                   settings.reopen_window_days)
    if action == "append":
        return t.id               # open again already (the customer wrote meanwhile)
    if action == "reopen":
        from appliance.services import tickets
        tickets.transition_ticket(actor, t.id, "open", settings)
        return t.id
    return _open_follow_up(actor, t, note, settings)


def _open_follow_up(actor: Actor, old: Ticket, note: str, settings: Settings) -> int:
    from appliance.services.links import _insert_link
    from appliance.services.tickets import TicketInput, create_ticket
    text = f"Follow-up to {old.number}: the customer said on the follow-up call that the " \
           f"problem is not solved (回访：问题未解决)." + (f"\n\n{note}" if note else "")
    takes = actor.user_id if actor.department_id == old.department_id and \
        actor.department_id is not None else None
    data = TicketInput(subject=f"Follow-up to {old.number} (follow-up visit 回访)",
                       description=text, channel="phone", department_id=old.department_id,
                       category_id=old.category_id, customer_id=old.customer_id,
                       assignee_id=takes)
    ticket_id = create_ticket(SYSTEM, data, settings).summary.id
    _insert_link(SYSTEM, old.id, ticket_id, "related")
    return ticket_id


def claim(actor: Actor, visit_id) -> VisitView:
    """Take a pool visit (or one of a colleague's, for those who may work the ticket)."""
    with unit_of_work():
        v, _ = _load(actor, visit_id, edit=True, lock=True)
        if v.status != "scheduled":
            raise VisitClosed("this follow-up visit is closed already", status=v.status)
        if not actor.user_id:
            raise PermissionDenied("only a person can take a visit")
        FollowUpVisit.update(agent=actor.user_id, reminded_at=None,
                             version=FollowUpVisit.version + 1).where(
            FollowUpVisit.id == v.id).execute()
        common.record(v.ticket_id, actor, "follow_up_claimed", "", None, {"visit_id": v.id},
                      internal=True)
    log.info("follow-up visit %s taken by user %s", v.id, actor.user_id)
    return get_visit(actor, v.id)
