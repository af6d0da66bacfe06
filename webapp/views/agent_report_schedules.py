"""Scheduled e-mail reports: a supervisor's or administrator's own schedules (list, add,
change, delete). Recipients are picked from internal users (services.reports_schedule
decides who may be picked); the worker sends them (docs/reports.md)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from appliance.errors import ValidationError
from appliance.services import reports_schedule as rs
from webapp.messages import N_
from webapp.views.agent_common import actor, bp
from webapp.views.agent_reports import _choices, field_messages

WEEKDAYS = (lazy_gettext("Monday"), lazy_gettext("Tuesday"), lazy_gettext("Wednesday"),
            lazy_gettext("Thursday"), lazy_gettext("Friday"), lazy_gettext("Saturday"),
            lazy_gettext("Sunday"))
# Why a schedule was paused (services.reports_schedule), shown translated on the page.
PAUSE_REASONS = (N_("the owner's account is disabled"), N_("the owner may no longer view reports"),
                 N_("the owner may no longer see this report"),
                 N_("none of the recipients may receive reports any more"))


def _labels() -> dict:
    return {"name": _("Name"), "frequency": _("Frequency"), "weekday": _("Weekday"),
            "day": _("Day of the month"), "hour": _("Hour"), "time_zone": _("Time zone"),
            "recipients": _("Recipients"), "format": _("Format"), "department": _("Department"),
            "channel": _("Channel"), "agent": _("Agent"), "category": _("Category")}


def _messages(fields: dict) -> dict:
    out = {}
    for name, message in fields.items():
        text = str(message)
        if name == "department" and "outside" in text:
            out[name] = _("You may only report on your own department.")
        elif name in ("department", "channel", "agent", "category"):
            out.update(field_messages({name: text}))
        elif name == "recipients":
            out[name] = _("Choose one or more internal users you may send reports to.")
        elif name == "time_zone":
            out[name] = _("Enter a time zone like Asia/Shanghai.")
        elif name in ("hour", "weekday", "day"):
            out[name] = _("Choose a value from the list.")
        elif name == "name":
            out[name] = _("Enter a name of at most 100 characters.")
        else:
            out[name] = _("This value is not valid.")
    return out


def _page(schedule=None, form=None, errors=None, status=200):
    form = form or (_form_of(schedule) if schedule else {"frequency": "weekly", "weekday": "0",
                                                          "hour": "8", "format": "xlsx",
                                                          "time_zone": rs.DEFAULT_ZONE})
    return render_template("agent/report_schedules.html", schedules=rs.list_schedules(actor()),
                           editing=schedule, form=form, errors=errors or {},
                           people=rs.recipient_choices(actor()), choices=_choices(),
                           weekdays=[str(d) for d in WEEKDAYS], labels=_labels()), status


def _form_of(s) -> dict:
    return {"name": s.name, "frequency": s.frequency, "weekday": str(s.weekday or 0),
            "day": str(s.day or 1), "hour": str(s.hour), "time_zone": s.time_zone,
            "format": s.format, "recipients": [str(i) for i in s.recipients],
            **{k: str(v) for k, v in s.params.items()}}


def _submitted() -> dict:
    form = {k: request.form.get(k, "") for k in ("name", "frequency", "weekday", "day", "hour",
                                                 "time_zone", "format", *rs.FILTER_KEYS)}
    form["recipients"] = request.form.getlist("recipients")
    return form


@bp.get("/reports/schedules")
def reports_schedules():
    return _page()


@bp.post("/reports/schedules")
def reports_schedule_create():
    form = _submitted()
    try:
        rs.create_schedule(actor(), rs.parse_input(form, form["recipients"]))
    except ValidationError as exc:
        return _page(form=form, errors=_messages(exc.fields), status=400)
    flash(_("The schedule was saved."), "success")
    return redirect(url_for("agent.reports_schedules"))


@bp.get("/reports/schedules/<int:schedule_id>")
def reports_schedule_edit(schedule_id: int):
    return _page(schedule=rs.get_schedule(actor(), schedule_id))


@bp.post("/reports/schedules/<int:schedule_id>")
def reports_schedule_update(schedule_id: int):
    current = rs.get_schedule(actor(), schedule_id)   # 404 for another owner's schedule
    form = _submitted()
    version = request.form.get("version", "")
    try:
        rs.update_schedule(actor(), schedule_id, rs.parse_input(form, form["recipients"]),
                           int(version) if version.isdigit() else -1)
    except ValidationError as exc:
        return _page(schedule=current, form=form, errors=_messages(exc.fields), status=400)
    flash(_("The schedule was saved."), "success")
    return redirect(url_for("agent.reports_schedules"))


@bp.post("/reports/schedules/<int:schedule_id>/delete")
def reports_schedule_delete(schedule_id: int):
    rs.delete_schedule(actor(), schedule_id)
    flash(_("The schedule was deleted."), "success")
    return redirect(url_for("agent.reports_schedules"))
