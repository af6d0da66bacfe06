"""The agent workspace: queues, saved filters and search.

The ticket page and its actions live in agent_tickets / agent_relations, the
customer pages in agent_customers; all of them register on this one blueprint.
"""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import DomainError, ValidationError
from appliance.rules import states
from appliance.services import queues, saved_filters, search, sla_views
from appliance.services.queues import TicketQuery
from webapp.messages import translate
from webapp.views.agent_common import actor, bp, form_choices, settings

log = logging.getLogger(__name__)

QUEUE_VIEWS = ("mine", "unassigned", "open", "all")
SEARCH_PAGE = 20


def _sidebar() -> dict:
    """Named views with capped counts (no full COUNT) and the user's saved filters."""
    counts = {v: queues.count_capped(actor(), TicketQuery(view=v)) for v in QUEUE_VIEWS}
    return {"counts": counts, "my_filters": saved_filters.list_filters(actor())}


def _queue_params(filter_id: int | None) -> tuple[dict, object]:
    """The queue's parameters: from a saved filter, or else from the query string."""
    if filter_id:
        saved = saved_filters.get_filter(actor(), filter_id)
        return saved.params, saved
    return saved_filters.clean_params(request.args.to_dict(flat=False)), None


@bp.get("/")
def queue():
    params, saved = _queue_params(request.args.get("filter", type=int))
    cursor = request.args.get("cursor") or None
    page, errors = None, {}
    try:
        query = saved_filters.build_query(params, cursor=cursor, limit=settings().page_size)
        page = queues.list_tickets(actor(), query)
    except ValidationError as exc:
        errors = exc.fields
    view = (params.get("view") or ["mine"])[0]
    next_url = None
    if page is not None and page.next_cursor:
        base = {"filter": saved.id} if saved else params
        next_url = url_for("agent.queue", **base, cursor=page.next_cursor)
    sla = sla_views.badges(actor(), [t.id for t in page.items]) if page is not None else {}
    return render_template("agent/queue.html", page=page, params=params, view=view, sla=sla,
                           first={k: v[0] for k, v in params.items()}, current_filter=saved,
                           errors=errors, next_url=next_url, choices=form_choices(),
                           statuses=states.STATUSES, channels=states.CHANNELS,
                           **_sidebar()), 400 if errors else 200


@bp.post("/filters")
def save_filter():
    params = saved_filters.clean_params(request.form.to_dict(flat=False))
    try:
        saved = saved_filters.save_filter(actor(), request.form.get("name", ""), params)
    except ValidationError as exc:
        for message in exc.fields.values():
            flash(_("Could not save the filter: %(reason)s", reason=translate(message)), "error")
        return redirect(url_for("agent.queue", **params))
    flash(_("Filter saved."), "success")
    return redirect(url_for("agent.queue", filter=saved.id))


@bp.post("/filters/<int:filter_id>/delete")
def delete_filter(filter_id: int):
    saved_filters.delete_filter(actor(), filter_id)
    flash(_("Filter deleted."), "success")
    return redirect(url_for("agent.queue"))


def _run_search(q: str, statuses: list[str], page: int) -> tuple[list, int, str | None, int]:
    """Results, total, an error message and the HTTP status for the search page."""
    try:
        results, total = search.search_tickets(actor(), q, settings(), statuses=statuses,
                                               limit=SEARCH_PAGE, offset=(page - 1) * SEARCH_PAGE)
        return results, total, None, 200
    except ValidationError as exc:
        return [], 0, "; ".join(translate(m) for m in exc.fields.values()), 400
    except DomainError:
        raise
    except Exception:  # the index is a cache: if it is missing or broken, say so and go on
        log.exception("search index unavailable")
        return [], 0, _("Search is temporarily unavailable. Try again later."), 503


@bp.get("/search")
def search_page():
    q = request.args.get("q", "").strip()
    statuses = [s for s in request.args.getlist("status") if s]
    page = max(1, request.args.get("page", 1, type=int))
    results, total, error, status = [], 0, None, 200
    if q:
        results, total, error, status = _run_search(q, statuses, page)
    if len(results) == 1 and total == 1 and page == 1 and q.upper() == results[0].ticket.number:
        return redirect(url_for("agent.ticket", ticket_id=results[0].ticket.id))
    more = page * SEARCH_PAGE < total
    return render_template("agent/search.html", q=q, statuses=statuses, results=results,
                           total=total, page=page, more=more, error=error,
                           all_statuses=states.STATUSES), status


# The other agent pages register their routes on `bp` when imported.
from webapp.views import agent_customers, agent_relations, agent_tickets  # noqa: E402,F401
from webapp.views import agent_ai, agent_triage  # noqa: E402,F401
from webapp.views import agent_dispatch, supervisor  # noqa: E402,F401
from webapp.views import agent_mail  # noqa: E402,F401
from webapp.views import agent_identity  # noqa: E402,F401
from webapp.views import agent_callbacks, agent_conversations  # noqa: E402,F401
from webapp.views import agent_processes  # noqa: E402,F401
from webapp.views import agent_kb, agent_kb_metrics, agent_kb_suggest  # noqa: E402,F401
from webapp.views import agent_csat  # noqa: E402,F401
from webapp.views import agent_followups  # noqa: E402,F401
from webapp.views import agent_reports, agent_report_schedules  # noqa: E402,F401
from webapp.views import agent_quality  # noqa: E402,F401

__all__ = ["bp"]
