"""Agent side of dispatch: presence, heartbeat, take next, my dispatch profile and
notifications (registered on the agent blueprint: staff only, CSRF on every POST).

The navigation's presence selector, "Take next" button and unread count come from the
`dispatch_nav` template global, computed once per request and only when a page's
navigation asks for it (two indexed queries).
"""
from __future__ import annotations

import logging

from babel.dates import get_day_names
from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import DomainError, PermissionDenied, ValidationError
from appliance.models.dispatch import PRESENCES
from appliance.services import agent_dispatch, dispatch_actions, notifications, presence
from webapp.auth import safe_next
from webapp.messages import translate
from webapp.views.agent_common import actor, bp

log = logging.getLogger(__name__)

PRESENCE_LABELS = {"online": _l("Online"), "busy": _l("Busy"), "away": _l("Away"),
                   "offline": _l("Offline")}
TAKE_REASONS = {
    "queue_empty": _l("No ticket is waiting in your department's queue."),
    "at_capacity": _l("You are at capacity: finish or hand over a ticket before taking "
                      "another."),
    "none_qualified": _l("Tickets are waiting, but none that you may take (skills or "
                         "permissions)."),
}
FIELD_LABELS = {"presence": _l("Presence"), "ids": _l("Notifications")}
ABSENCE_LABELS = {"break": _l("Break"), "leave": _l("Leave"), "training": _l("Training")}


def _back():
    return redirect(safe_next(request.form.get("next"), url_for("agent.queue")))


def _flash_error(exc: DomainError) -> None:
    if isinstance(exc, ValidationError):
        for name, message in exc.fields.items():
            flash(f"{FIELD_LABELS.get(name, name)}: {translate(message)}", "error")
    else:
        flash(translate(exc.message), "error")


# -- template globals --------------------------------------------------------------------

def dispatch_nav() -> dict | None:
    """What the navigation shows (None for non-staff): presence selector and "Take next"
    only for members of a department; the unread count for every staff member."""
    if "dispatch_nav" in g:
        return g.dispatch_nav
    a = actor()
    nav = None
    if a is not None and a.is_staff:
        try:
            unread = notifications.unread_count(a, cap=notifications.UNREAD_CAP)
            member = a.department_id is not None
            nav = {"member": member, "unread": unread,
                   "unread_label": f"{notifications.UNREAD_CAP}+"
                   if unread > notifications.UNREAD_CAP else str(unread),
                   "presence": agent_dispatch.stored_presence(a) if member else ""}
        except Exception:  # the navigation must never take a page down
            log.exception("dispatch navigation failed")
    g.dispatch_nav = nav
    return nav


def notification_text(n: notifications.NotificationView) -> str:
    """One sentence per kind; unknown kinds show as they are."""
    number = n.ticket_number or _("a ticket")
    data = n.data or {}
    if n.kind == "routing_no_agents":
        return _("%(department)s has no agents who can get tickets: %(number)s waits "
                 "until someone is added.", department=data.get("department", ""),
                 number=number)
    if n.kind == "routing_nobody_qualified":
        return _("Nobody in %(department)s may take %(number)s (skills or permissions): "
                 "it waits for a configuration change.",
                 department=data.get("department", ""), number=number)
    if n.kind == "queue_escalated":
        return _("%(number)s has waited %(minutes)s minutes for an agent and was escalated.",
                 number=number, minutes=data.get("waited_minutes", "?"))
    if n.kind == "callback_due":  # appliance.services.callbacks.remind_due
        return _("A callback for %(number)s is due: call the customer now.", number=number)
    if n.kind == "follow_up_due":  # appliance.services.follow_up.remind_due
        return _("A follow-up visit for %(number)s is due: call the customer now.",
                 number=number)
    if n.kind.startswith("sla_"):  # appliance.services.sla_escalation
        from webapp.views.sla_labels import notification_text as sla_text
        return sla_text(n)
    if n.kind.startswith("process_"):  # appliance.services.process_*
        from webapp.views.process_text import notification_text as process_text
        return process_text(n)
    return n.kind


def _weekday(day: int) -> str:
    return get_day_names("wide", locale=get_locale())[day]


@bp.context_processor
def _dispatch_globals() -> dict:
    return {"dispatch_nav": dispatch_nav, "dispatch_presence_label": presence_label,
            "dispatch_presences": PRESENCES}


def presence_label(value: str) -> str:
    return str(PRESENCE_LABELS.get(value, value))


# -- presence ------------------------------------------------------------------------------

@bp.post("/presence")
def set_presence():
    try:
        now = agent_dispatch.change_presence(actor(), request.form.get("presence", ""))
        flash(_("Your presence is now: %(presence)s.", presence=presence_label(now.presence)),
              "success")
    except DomainError as exc:
        _flash_error(exc)
    return _back()


@bp.post("/presence/heartbeat")
def heartbeat():
    """dispatch.js calls this while the agent is active (CSRF token in X-CSRFToken)."""
    return jsonify({"presence": presence.heartbeat(actor())})


@bp.post("/take-next")
def take_next():
    try:
        result = dispatch_actions.take_next(actor())
    except PermissionDenied:
        flash(_("Only members of a department can take tickets from its queue."), "error")
        return _back()
    except DomainError as exc:
        _flash_error(exc)
        return _back()
    if result.ticket_id is None:
        flash(str(TAKE_REASONS.get(result.reason, result.reason)), "warning")
        return _back()
    flash(_("This ticket is now yours."), "success")
    return redirect(url_for("agent.ticket", ticket_id=result.ticket_id))


# -- pages ---------------------------------------------------------------------------------

@bp.get("/me")
def my_profile():
    return render_template("agent/my_profile.html", p=agent_dispatch.profile(actor()),
                           weekday=_weekday, absence_labels=ABSENCE_LABELS)


@bp.get("/notifications")
def notifications_page():
    unread_only = request.args.get("unread") == "1"
    items = notifications.list_notifications(actor(), unread_only=unread_only, limit=100)
    return render_template("agent/notifications.html", items=items, unread_only=unread_only,
                           text=notification_text)


@bp.post("/notifications/read")
def notifications_read():
    if request.form.get("all") == "1":
        ids = None
    else:
        ids = [int(v) for v in request.form.getlist("id") if v.isascii() and v.isdigit() and len(v) <= 18]
    try:
        marked = notifications.mark_read(actor(), ids)
        if marked:
            flash(_("Marked as read."), "success")
    except DomainError as exc:
        _flash_error(exc)
    return redirect(safe_next(request.form.get("next"), url_for("agent.notifications_page")))
