"""Admin: SLA business calendars and policies (services.sla_config; decision 0036).

Forms are plain text fields a person can type: a day's hours as "09:00-12:00,
13:30-18:00" (an end of the next day as 06:00+1), one closure per line ("2026-12-24
2026-12-25 reason" or two date-times with offsets), escalations one per line ("90
notify_lead", "100 raise_priority", "100 reassign user:wangfang" or "team:3"). The view
turns them into the service's shapes; the service checks everything and answers with
every problem by field, which the page shows next to the field.
"""
from __future__ import annotations

import re

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, ValidationError
from appliance.rules.business_calendar import WEEKDAYS
from appliance.rules.states import CHANNELS, PRIORITIES
from appliance.services import org, sla_config
from webapp.views import sla_labels  # timeline and notification words too
from webapp.views.admin_forms import form_page

bp = Blueprint("sla", __name__, url_prefix="/sla")
DAY_LABELS = dict(zip(WEEKDAYS, (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"),
                                 _l("Friday"), _l("Saturday"), _l("Sunday"))))
ACTION_LABELS = sla_labels.ACTION_LABELS
_RANGE = re.compile(r"^\s*(\S+)\s*[-–~]\s*(\S+)\s*$")


@bp.get("/")
def index():
    return form_page("admin/sla.html", calendars=sla_config.list_calendars(g.actor),
                     policies=sla_config.list_policies(g.actor), day_labels=DAY_LABELS,
                     weekdays=WEEKDAYS)


# ---------------------------------------------------------------- calendars

def _calendar_form(view=None) -> dict:
    if view is None:
        return {"time_zone": "Asia/Shanghai", "chinese_holidays": True,
                **{d: "09:00-12:00, 13:30-18:00" for d in WEEKDAYS[:5]}}
    form = {"name": view.name, "department_id": view.department.id if view.department else "",
            "time_zone": view.time_zone, "chinese_holidays": view.chinese_holidays,
            "makeup_day_hours": _ranges_text(view.makeup_day_hours or []),
            "closures": "\n".join(" ".join(x for x in (c["start"], c["end"], c.get("reason", ""))
                                           if x) for c in view.closures),
            "extra_open_days": "\n".join(view.extra_open_days), "version": view.version}
    form.update({d: _ranges_text(view.week.get(d) or []) for d in WEEKDAYS})
    return form


def _ranges_text(pairs) -> str:
    return ", ".join(f"{s}-{e}" for s, e in pairs)


def _ranges(text: str) -> list:
    """"09:00-12:00, 13:30-18:00" → [["09:00", "12:00"], ...]; a part that is not a range
    goes through as a start without an end, so the service names it as a bad time."""
    out = []
    for part in re.split(r"[,，;]", text or ""):
        if part.strip():
            m = _RANGE.match(part)
            out.append([m.group(1), m.group(2)] if m else [part.strip(), ""])
    return out


def _closures(text: str) -> list:
    out = []
    for line in (text or "").splitlines():
        words = line.split(None, 2)
        if words:
            out.append({"start": words[0], "end": words[1] if len(words) > 1 else words[0],
                        "reason": words[2] if len(words) > 2 else ""})
    return out


def _calendar_data(form) -> dict:
    data = {"name": form.get("name", "").strip(),
            "department_id": form.get("department_id") or None,
            "time_zone": form.get("time_zone", "").strip(),
            "week": {d: _ranges(form.get(d, "")) for d in WEEKDAYS},
            "chinese_holidays": bool(form.get("chinese_holidays")),
            "makeup_day_hours": _ranges(form.get("makeup_day_hours", "")) or None,
            "closures": _closures(form.get("closures", "")),
            "extra_open_days": (form.get("extra_open_days", "") or "").split()}
    return data


def _calendar_page(form: dict, errors: dict | None = None, calendar=None):
    return form_page("admin/sla_calendar.html", errors, form=form, calendar=calendar,
                     departments=[(d.id, d.name) for d in org.list_departments()],
                     day_labels=DAY_LABELS, weekdays=WEEKDAYS)


@bp.get("/calendars/new")
def new_calendar():
    return _calendar_page(_calendar_form())


@bp.get("/calendars/<int:calendar_id>")
def calendar(calendar_id: int):
    view = sla_config.get_calendar(g.actor, calendar_id)
    return _calendar_page(_calendar_form(view), calendar=view)


@bp.post("/calendars/new")
@bp.post("/calendars/<int:calendar_id>")
def save_calendar(calendar_id: int | None = None):
    form = request.form.to_dict()
    try:
        view = sla_config.save_calendar(g.actor, calendar_id, _calendar_data(form),
                                        expected_version=form.get("version"))
    except ValidationError as exc:
        current = sla_config.get_calendar(g.actor, calendar_id) if calendar_id else None
        return _calendar_page(form, _form_errors(exc.fields), current)
    except Conflict:
        flash(_("Someone else changed this calendar meanwhile. Nothing was saved; "
                "here is the current version."), "error")
        return redirect(url_for("admin.sla.calendar", calendar_id=calendar_id))
    flash(_("Calendar “%(name)s” saved.", name=view.name), "success")
    return redirect(url_for("admin.sla.index"))


@bp.post("/calendars/<int:calendar_id>/delete")
def delete_calendar(calendar_id: int):
    try:
        sla_config.delete_calendar(g.actor, calendar_id)
        flash(_("The calendar was deleted; the department now uses the default calendar."),
              "success")
    except ValidationError:
        flash(_("The default calendar cannot be deleted."), "error")
    return redirect(url_for("admin.sla.index"))


def _form_errors(fields: dict) -> dict:
    """Service paths (week.monday[0], closures[1].start) → the form field that shows them."""
    out: dict[str, str] = {}
    for path, message in fields.items():
        head = re.split(r"[\[.]", path, maxsplit=1)[0]
        if head == "week" and "." in path:
            head = path.split(".")[1].split("[")[0]
        out.setdefault(head if head else path, message)
    return out


# ---------------------------------------------------------------- policies

def _policy_form(view=None) -> dict:
    if view is None:
        return {"order": "100", "active": True, "warn_at": "75, 90"}
    return {"name": view.name, "order": str(view.order), "active": view.active,
            "priorities": [str(p) for p in view.priorities],
            "category_ids": [str(c) for c in view.category_ids],
            "tiers": ", ".join(view.tiers), "channels": list(view.channels),
            "first_response_minutes": view.first_response_minutes or "",
            "next_response_minutes": view.next_response_minutes or "",
            "resolution_minutes": view.resolution_minutes or "",
            "warn_at": ", ".join(map(str, view.warn_at)),
            "escalations": "\n".join(_escalation_text(e) for e in view.escalations),
            "version": view.version}


def _escalation_text(e: dict) -> str:
    target = f" user:{e['user_id']}" if e.get("user_id") else (
        f" team:{e['team_id']}" if e.get("team_id") else "")
    return f"{e.get('at')} {e.get('action')}{target}"


def _escalations(text: str) -> list:
    out = []
    for line in (text or "").splitlines():
        words = line.split()
        if not words:
            continue
        item = {"at": words[0], "action": words[1] if len(words) > 1 else ""}
        for word in words[2:]:
            kind, _sep, value = word.partition(":")
            if kind in ("user", "team"):
                item[f"{kind}_id"] = value
        out.append(item)
    return out


def _policy_data(form) -> dict:
    return {"name": form.get("name", "").strip(), "order": form.get("order", ""),
            "active": bool(form.get("active")),
            "priorities": form.getlist("priorities"), "category_ids": form.getlist("category_ids"),
            "tiers": form.get("tiers", ""), "channels": form.getlist("channels"),
            "first_response_minutes": form.get("first_response_minutes", ""),
            "next_response_minutes": form.get("next_response_minutes", ""),
            "resolution_minutes": form.get("resolution_minutes", ""),
            "warn_at": form.get("warn_at", ""),
            "escalations": _escalations(form.get("escalations", ""))}


def _policy_page(form: dict, errors: dict | None = None, policy=None):
    return form_page("admin/sla_policy.html", errors, form=form, policy=policy,
                     categories=[(c.id, c.path) for c in org.list_categories()],
                     priorities=PRIORITIES, channels=CHANNELS, actions=ACTION_LABELS)


@bp.get("/policies/new")
def new_policy():
    return _policy_page(_policy_form())


@bp.get("/policies/<int:policy_id>")
def policy(policy_id: int):
    view = sla_config.get_policy(g.actor, policy_id)
    return _policy_page(_policy_form(view), policy=view)


@bp.post("/policies/new")
@bp.post("/policies/<int:policy_id>")
def save_policy(policy_id: int | None = None):
    form = request.form
    try:
        view = sla_config.save_policy(g.actor, policy_id, _policy_data(form),
                                      expected_version=form.get("version"))
    except ValidationError as exc:
        shown = {**form.to_dict(), "priorities": form.getlist("priorities"),
                 "category_ids": form.getlist("category_ids"),
                 "channels": form.getlist("channels")}
        current = sla_config.get_policy(g.actor, policy_id) if policy_id else None
        errors = {re.split(r"[\[.]", k, maxsplit=1)[0]: v for k, v in exc.fields.items()}
        return _policy_page(shown, errors, current)
    except Conflict:
        flash(_("Someone else changed this policy meanwhile. Nothing was saved; "
                "here is the current version."), "error")
        return redirect(url_for("admin.sla.policy", policy_id=policy_id))
    flash(_("Policy “%(name)s” saved.", name=view.name), "success")
    return redirect(url_for("admin.sla.index"))


@bp.post("/policies/<int:policy_id>/delete")
def delete_policy(policy_id: int):
    sla_config.delete_policy(g.actor, policy_id)
    flash(_("The policy was deleted."), "success")
    return redirect(url_for("admin.sla.index"))
