"""Admin pages for dispatch: the overview with the health check, department policies,
agents' dispatch profiles (permissions, languages, capacity, shifts, absences) and the
skills each category needs.

Forms post plain strings; the helpers below turn them into the service's payload and
leave anything unparseable as it was, so that the service names the field and the form
shows the message next to it, with what was typed still in place.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import Conflict, ValidationError
from appliance.rules import routing, states
from appliance.rules.dispatch_config import as_id, as_int
from appliance.services import dispatch_admin as admin, org
from webapp.views import dispatch_labels as labels
from webapp.views.admin_forms import checked, form_page
from webapp.views.agent_forms import from_local_input

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")
PRIORITY_KEYS = admin.PRIORITY_KEYS
SHIFT_ROWS = 60      # rows of the weekly shifts editor read from a post
BLANK_SHIFT_ROWS = 3
CUSTOMER_CHOICES = 500
LEVELS = [(str(n), str(n)) for n in range(1, 6)]


@bp.context_processor
def _labels():
    return {"STRATEGY_LABELS": labels.STRATEGY_LABELS, "COMPONENTS": routing.COMPONENTS,
            "COMPONENT_LABELS": labels.COMPONENT_LABELS, "CHANNELS": states.CHANNELS,
            "PRIORITY_KEYS": PRIORITY_KEYS, "WEEKDAYS": labels.WEEKDAYS,
            "ABSENCE_LABELS": labels.ABSENCE_LABELS}


# --- overview ----------------------------------------------------------------------------------

@bp.get("/")
def index():
    problems = [(p, labels.problem_text(p)) for p in admin.health(g.actor)]
    return render_template("admin/dispatch_index.html", rows=admin.overview(g.actor),
                           problems=problems)


# --- department policy -------------------------------------------------------------------------

def _number(text: str):
    """A float, or the text itself when it is not one (the service says what is wrong)."""
    try:
        return float(text)
    except ValueError:
        return text


def _whole(text: str):
    """An int, 0 for nothing, or the text itself when it is not a whole number."""
    try:
        return int(text) if text.strip() else 0
    except ValueError:
        return text


def _version(text: str) -> int | None:
    """The form's expected_version; None (no check) when it is missing or not a number."""
    version = as_int(text)
    return version if isinstance(version, int) else None


def _time(text: str) -> str:
    """A time input may send seconds ("09:00:00"); the service takes "HH:MM"."""
    return text[:5] if len(text) == 8 and text[2::3] == "::" else text


def _weights(prefix: str, keys) -> dict:
    raw = {k: request.form.get(f"{prefix}.{k}", "").strip() for k in keys}
    return {k: _number(v) for k, v in raw.items() if v != ""}


def policy_payload() -> dict:
    f = request.form
    return {"strategy": f.get("strategy", ""), "auto_assign": checked("auto_assign"),
            "weights": _weights("weights", routing.COMPONENTS),
            "channel_weights": _weights("channel_weights", states.CHANNELS),
            "priority_weights": _weights("priority_weights", PRIORITY_KEYS),
            "escalate_after_minutes": _whole(f.get("escalate_after_minutes", "").strip()),
            "lead_id": f.get("lead_id", "").strip() or None,
            "overflow_department_id": f.get("overflow_department_id", "").strip() or None,
            "overflow_team_id": f.get("overflow_team_id", "").strip() or None}


def policy_form(p: admin.PolicyView) -> dict:
    form = {"strategy": p.strategy, "auto_assign": p.auto_assign,
            "escalate_after_minutes": str(p.escalate_after_minutes),
            "lead_id": str(p.lead_id or ""),
            "overflow_department_id": str(p.overflow_department_id or ""),
            "overflow_team_id": str(p.overflow_team_id or ""), "expected_version": str(p.version)}
    for prefix, values in (("weights", p.weights), ("channel_weights", p.channel_weights),
                           ("priority_weights", p.priority_weights)):
        form.update({f"{prefix}.{k}": f"{float(v):g}" for k, v in values.items()})
    return form


def _policy_page(department_id: int, errors=None, form=None, status=None):
    p = admin.get_policy(g.actor, department_id)
    departments = org.list_departments()
    teams = [(t.id, f"{d.name} / {t.name}") for d in departments for t in d.teams]
    leads = admin.lead_choices(g.actor, department_id, keep=p.lead_id)
    page, code = form_page("admin/dispatch_policy.html", errors, p=p,
                           form=form if form is not None else policy_form(p),
                           departments=[d for d in departments if d.id != department_id],
                           teams=teams, leads=leads)
    return page, status or code


@bp.get("/departments/<int:department_id>")
def policy(department_id: int):
    return _policy_page(department_id)


@bp.post("/departments/<int:department_id>")
def save_policy(department_id: int):
    admin.get_policy(g.actor, department_id)
    form = dict(request.form.items())
    form["auto_assign"] = checked("auto_assign")
    try:
        p = admin.save_policy(g.actor, department_id, policy_payload(),
                              expected_version=_version(request.form.get("expected_version", "")))
    except ValidationError as exc:
        return _policy_page(department_id, labels.translated(exc.fields), form)
    except Conflict as exc:
        return _policy_page(department_id, {"form": labels.translate(exc.message)}, form, 409)
    flash(_("The dispatch policy of %(name)s was saved.", name=p.department.name), "success")
    return redirect(url_for("admin.dispatch.policy", department_id=department_id))


# --- agents ------------------------------------------------------------------------------------

@bp.get("/agents/")
def agents():
    return render_template("admin/dispatch_agents.html", agents=admin.list_staff(g.actor))


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.replace("，", ",").split(",") if t.strip()]


def shift_rows() -> list[dict]:
    """The editor's filled rows, in order (rows with no times are left out)."""
    rows = []
    for i in range(SHIFT_ROWS):
        start = request.form.get(f"shifts[{i}].start", "").strip()
        end = request.form.get(f"shifts[{i}].end", "").strip()
        if start or end:
            rows.append({"weekday": _whole(request.form.get(f"shifts[{i}].weekday", "")),
                         "start": _time(start), "end": _time(end)})
    return rows


def profile_payload() -> dict:
    f = request.form
    return {"capacity": f.get("capacity", "").strip(),
            "languages": _split(f.get("languages", "")),
            "vip_tiers": _split(f.get("vip_tiers", "")),
            "allowed_category_ids": f.getlist("allowed_category_ids"),
            "allowed_customer_ids": f.getlist("allowed_customer_ids"),
            "shifts": shift_rows()}


def profile_form(p) -> dict:
    return {"capacity": str(p.capacity), "languages": ", ".join(p.languages),
            "vip_tiers": ", ".join(p.vip_tiers),
            "allowed_category_ids": [str(i) for i in p.allowed_category_ids],
            "allowed_customer_ids": [str(i) for i in p.allowed_customer_ids],
            "shifts": [{"weekday": s.weekday, "start": s.start, "end": s.end} for s in p.shifts],
            "expected_version": str(p.version)}


def _category_choices(selected: list[str]) -> list[dict]:
    """Active categories, and inactive ones already chosen (marked): a choice missing from
    the list would be dropped on save, which would widen the agent's permissions."""
    return [{"id": c.id, "path": c.path if c.active else f"{c.path} {_('(inactive)')}"}
            for c in org.list_categories() if c.active or str(c.id) in selected]


def _profile_page(user_id: int, errors=None, form=None, absence_form=None, absence_errors=None):
    p = admin.get_profile(g.actor, user_id)
    form = form if form is not None else profile_form(p)
    shifts = list(form["shifts"]) + [{"weekday": 0, "start": "", "end": ""}] * BLANK_SHIFT_ROWS
    page, code = form_page(
        "admin/dispatch_agent.html", errors, p=p, form=form, shifts=shifts,
        categories=_category_choices(form["allowed_category_ids"]),
        customer_choices=admin.customer_choices(g.actor, form["allowed_customer_ids"],
                                                CUSTOMER_CHOICES),
        absence_form=absence_form or {"kind": "break"}, absence_errors=absence_errors or {})
    return page, 400 if absence_errors else code


@bp.get("/agents/<int:user_id>")
def profile(user_id: int):
    return _profile_page(user_id)


@bp.post("/agents/<int:user_id>")
def save_profile(user_id: int):
    admin.get_profile(g.actor, user_id)
    data = profile_payload()
    form = {**{k: request.form.get(k, "") for k in ("capacity", "languages", "vip_tiers",
                                                    "expected_version")},
            "allowed_category_ids": data["allowed_category_ids"],
            "allowed_customer_ids": data["allowed_customer_ids"], "shifts": data["shifts"]}
    try:
        p = admin.save_profile(g.actor, user_id, data,
                               expected_version=_version(form["expected_version"]))
    except ValidationError as exc:
        return _profile_page(user_id, labels.translated(exc.fields), form)
    except Conflict as exc:
        page, _status = _profile_page(user_id, {"form": labels.translate(exc.message)}, form)
        return page, 409
    flash(_("The dispatch profile of %(name)s was saved.", name=p.user.name), "success")
    return redirect(url_for("admin.dispatch.profile", user_id=user_id))


@bp.post("/agents/<int:user_id>/absences")
def add_absence(user_id: int):
    admin.get_profile(g.actor, user_id)
    form = {k: request.form.get(k, "").strip() for k in ("kind", "starts_at", "ends_at", "note")}
    tz = current_app.config["GONGDAN"].timezone
    try:
        admin.add_absence(g.actor, user_id, form["kind"], from_local_input(form["starts_at"], tz),
                          from_local_input(form["ends_at"], tz), form["note"])
    except ValidationError as exc:
        return _profile_page(user_id, absence_form=form,
                             absence_errors=labels.translated(exc.fields))
    flash(_("The absence was added."), "success")
    return redirect(url_for("admin.dispatch.profile", user_id=user_id))


@bp.post("/agents/<int:user_id>/absences/<int:absence_id>/delete")
def delete_absence(user_id: int, absence_id: int):
    admin.delete_absence(g.actor, user_id, absence_id)
    flash(_("The absence was removed."), "success")
    return redirect(url_for("admin.dispatch.profile", user_id=user_id))


# --- skills categories need --------------------------------------------------------------------

def _categories_page(errors=None, form=None):
    return form_page("admin/dispatch_categories.html", errors,
                     rows=admin.list_category_skills(g.actor), skills=org.list_skills(),
                     levels=LEVELS, form=form or {"min_level": "2"})


@bp.get("/categories")
def categories():
    return _categories_page()


@bp.post("/categories")
def set_category_skill():
    form = {k: request.form.get(k, "").strip() for k in ("category_id", "skill_id", "min_level")}
    category_id = as_id(form["category_id"])
    if category_id is None:
        problem = "must be an id" if form["category_id"] else "required"
        return _categories_page({"category_id": labels.translate(problem)}, form)
    try:
        c = admin.set_category_skill(g.actor, category_id, form["skill_id"],
                                     form["min_level"])
    except ValidationError as exc:
        return _categories_page(labels.translated(exc.fields), form)
    flash(_("The skills of %(category)s were saved.", category=c.category.path), "success")
    return redirect(url_for("admin.dispatch.categories"))
