"""Ticket search for agents and customers: the index narrows, the domain decides."""
from __future__ import annotations

import datetime as dt

from appliance import dto, registry
from appliance.errors import ValidationError
from appliance.models import Ticket
from appliance.ports import SearchFilters
from appliance.rules import states
from appliance.rules.access import Actor, can_view_ticket
from appliance.rules.numbering import parse_number
from appliance.services import common
from appliance.settings import Settings


def _filters_for(actor: Actor, statuses, department_ids, created_from, created_to) -> SearchFilters:
    bad = [s for s in statuses if s not in states.STATUSES]
    if bad:
        raise ValidationError({"status": "unknown status: " + ", ".join(bad)})
    base = dict(statuses=tuple(statuses), department_ids=tuple(department_ids),
                created_from=created_from, created_to=created_to,
                include_internal=actor.is_staff)
    if actor.is_admin:
        return SearchFilters(**base)
    if actor.is_customer:
        return SearchFilters(**base, visible_department_ids=(), include_unassigned_department=False,
                             customer_id=actor.customer_id or -1, requester_id=actor.user_id)
    return SearchFilters(**base, visible_department_ids=tuple(
        [actor.department_id] if actor.department_id else []),
        visible_assignee_id=actor.user_id)


def search_tickets(actor: Actor, query: str, settings: Settings, *, statuses=(), department_ids=(),
                   created_from: dt.datetime | None = None, created_to: dt.datetime | None = None,
                   limit: int = 20, offset: int = 0) -> tuple[list[dto.SearchResult], int]:
    """Ranked, highlighted results the actor may see, and the total hit count."""
    query = (query or "").strip()
    if not query:
        raise ValidationError({"q": "required"})
    if len(query) > 500:
        raise ValidationError({"q": "at most 500 characters"})
    exact = _by_number(actor, query)
    if exact is not None:
        return [dto.SearchResult(exact, 1000.0, {})], 1
    filters = _filters_for(actor, statuses, department_ids, created_from, created_to)
    hits, total = registry.search_index(settings).search(query, filters, limit=limit, offset=offset)
    rows = {t.id: t for t in Ticket.select().where(Ticket.id.in_([h.id for h in hits]))} if hits else {}
    visible = [(h, rows[h.id]) for h in hits
               if h.id in rows and can_view_ticket(actor, common.facts(rows[h.id]))]
    sums = common.summaries([t for _, t in visible])
    return [dto.SearchResult(s, h.score, h.highlights) for (h, _), s in zip(visible, sums)], total


def _by_number(actor: Actor, query: str) -> dto.TicketSummary | None:
    if parse_number(query) is None:
        return None
    t = Ticket.get_or_none(Ticket.number == query.strip().upper())
    if t is None or not can_view_ticket(actor, common.facts(t)):
        return None
    return common.summary(t)
