"""Admin pages for AI triage: the model's and classifiers' status, classifier versions
(activate = roll back, train now), cold-start label profiles and priority rules.

The admin blueprint's guard lets only administrators in, and every ai_admin service
checks the role again.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import NotFound, ValidationError
from appliance.services import ai_admin
from appliance.services import ai_training as training
from webapp import ai_status as model_status
from webapp.messages import translate
from webapp.views import ai_labels
from webapp.views.ai_labels import ai_field_label
from webapp.views.admin_forms import checked, form_page, values

bp = Blueprint("ai", __name__, url_prefix="/ai")
ai_labels.register(bp)

FIELDS = training.FIELDS
RULE_FIELDS = ("name", "condition", "keywords", "threshold", "priority", "urgency", "position")


def _settings():
    return current_app.config["GONGDAN"]


# -- status and classifier versions --------------------------------------------------------

@bp.get("/")
def status():
    settings = _settings()
    versions = ai_admin.list_classifier_versions(g.actor)
    thresholds = {f: getattr(settings, f"ai_threshold_{f}") for f in FIELDS}
    return render_template("admin/ai_status.html", status=ai_admin.ai_status(settings),
                           active={v.field: v for v in versions if v.active},
                           thresholds=thresholds, fields=FIELDS, settings=settings)


@bp.get("/classifiers")
def classifiers():
    versions = ai_admin.list_classifier_versions(g.actor)
    return render_template("admin/ai_classifiers.html", fields=FIELDS,
                           versions={f: [v for v in versions if v.field == f] for f in FIELDS})


@bp.post("/classifiers/activate")
def activate():
    field = request.form.get("field", "")
    version = request.form.get("version", type=int)
    try:
        v = ai_admin.activate_classifier_version(g.actor, field, version)
    except (ValidationError, NotFound) as exc:
        reasons = exc.fields.values() if isinstance(exc, ValidationError) else [exc.message]
        flash(_("This version cannot be activated: %(reason)s",
                reason="; ".join(translate(m) for m in reasons)), "error")
        return redirect(url_for("admin.ai.classifiers"))
    flash(_("Version %(version)s of the %(field)s classifier is now active.",
            version=v.version, field=ai_field_label(v.field)), "success")
    return redirect(url_for("admin.ai.classifiers"))


@bp.post("/classifiers/train")
def train():
    ai_admin.schedule_training(g.actor)
    flash(_("Training was queued; the worker builds new versions shortly."), "success")
    return redirect(url_for("admin.ai.classifiers"))


# -- label profiles (cold start) -------------------------------------------------------------

def _field_arg() -> str:
    field = request.values.get("field", FIELDS[0])
    if field not in FIELDS:
        raise NotFound("unknown field")
    return field


def _profiles_page(field: str, errors: dict | None = None, posted: dict | None = None):
    """One form per current label; `errors`/`posted` belong to the label just saved."""
    profiles = {p.value: p for p in ai_admin.list_label_profiles(g.actor, field)}
    labels = [(value, name, profiles.get(value)) for value, name in training.labels(field).items()]
    gone = [p for value, p in profiles.items() if value not in dict(training.labels(field))]
    return form_page("admin/ai_profiles.html", errors, field=field, fields=FIELDS,
                     labels=labels, gone=gone, posted=posted or {},
                     max_examples=ai_admin.MAX_EXAMPLES)


@bp.get("/profiles")
def profiles():
    return _profiles_page(_field_arg())


@bp.post("/profiles")
def save_profile():
    field = _field_arg()
    form = {**values("value", "description", "examples"), "active": checked("active")}
    try:
        ai_admin.save_label_profile(g.actor, field, form["value"], form["description"],
                                    form["examples"], active=form["active"],
                                    profile_id=request.form.get("profile_id", type=int))
    except ValidationError as exc:
        return _profiles_page(field, exc.fields, form)
    flash(_("The description of this label was saved."), "success")
    return redirect(url_for("admin.ai.profiles", field=field, _anchor=f"label-{form['value']}"))


@bp.post("/profiles/<int:profile_id>/delete")
def delete_profile(profile_id: int):
    field = _field_arg()
    ai_admin.delete_label_profile(g.actor, profile_id)
    flash(_("The label description was deleted."), "success")
    return redirect(url_for("admin.ai.profiles", field=field))


@bp.post("/profiles/seed")
def seed_profiles():
    made = ai_admin.seed_profiles_from_org()
    flash(_("%(n)s label descriptions were created from department and category names.",
            n=made), "success")
    return redirect(url_for("admin.ai.profiles", field=_field_arg()))


# -- priority rules --------------------------------------------------------------------------

def _rule_form() -> dict:
    return {**values(*RULE_FIELDS), "active": checked("active")}


def _save_rule(form: dict, rule_id: int | None = None):
    """Save the posted rule; the position is parsed here (the service takes a number)."""
    position = form["position"] or "0"
    if not position.lstrip("-").isdigit():
        raise ValidationError({"position": "must be a whole number"})
    return ai_admin.save_triage_rule(g.actor, **{**form, "position": int(position)},
                                     rule_id=rule_id)


def _rules_page(errors=None, form=None):
    return form_page("admin/ai_rules.html", errors, rules=ai_admin.list_triage_rules(g.actor),
                     conditions=ai_admin.CONDITIONS,
                     form=form or {"condition": "keywords", "position": "0", "active": True})


def _rule(rule_id: int):
    rule = next((r for r in ai_admin.list_triage_rules(g.actor) if r.id == rule_id), None)
    if rule is None:
        raise NotFound("rule not found")
    return rule


def _rule_page(rule_id: int, errors=None, form=None):
    r = _rule(rule_id)
    if form is None:
        form = {"name": r.name, "condition": r.condition, "keywords": "\n".join(r.keywords),
                "threshold": str(r.threshold), "priority": str(r.priority or ""),
                "urgency": r.urgency or "", "position": str(r.position), "active": r.active}
    return form_page("admin/ai_rule.html", errors, r=r, form=form,
                     conditions=ai_admin.CONDITIONS)


@bp.get("/rules")
def rules():
    return _rules_page()


@bp.post("/rules")
def create_rule():
    form = _rule_form()
    try:
        r = _save_rule(form)
    except ValidationError as exc:
        return _rules_page(exc.fields, form)
    flash(_("Rule %(name)s was created.", name=r.name), "success")
    return redirect(url_for("admin.ai.rules"))


@bp.get("/rules/<int:rule_id>")
def edit_rule(rule_id: int):
    return _rule_page(rule_id)


@bp.post("/rules/<int:rule_id>")
def update_rule(rule_id: int):
    _rule(rule_id)
    form = _rule_form()
    try:
        r = _save_rule(form, rule_id)
    except ValidationError as exc:
        return _rule_page(rule_id, exc.fields, form)
    flash(_("Rule %(name)s was saved.", name=r.name), "success")
    return redirect(url_for("admin.ai.rules"))


def _resave(r, **changes):
    """Save a rule as it is but for `changes` (the service takes the whole rule)."""
    fields = dict(name=r.name, condition=r.condition, keywords=r.keywords,
                  threshold=r.threshold, priority=r.priority, urgency=r.urgency,
                  active=r.active, position=r.position)
    return ai_admin.save_triage_rule(g.actor, **{**fields, **changes}, rule_id=r.id)


@bp.post("/rules/<int:rule_id>/active")
def set_rule_active(rule_id: int):
    active = request.form.get("active") == "1"
    r = _resave(_rule(rule_id), active=active)
    flash(_("Rule %(name)s was enabled.", name=r.name) if active else
          _("Rule %(name)s was disabled.", name=r.name), "success")
    return redirect(url_for("admin.ai.rules"))


@bp.post("/rules/<int:rule_id>/move")
def move_rule(rule_id: int):
    """Swap a rule with its neighbour; positions are renumbered in steps of 10 so that
    rules created with equal positions get a definite order."""
    order = ai_admin.list_triage_rules(g.actor)
    i = next((n for n, r in enumerate(order) if r.id == rule_id), None)
    if i is None:
        raise NotFound("rule not found")
    j = i - 1 if request.form.get("direction") == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        for n, r in enumerate(order):
            if r.position != n * 10:
                _resave(r, position=n * 10)
    return redirect(url_for("admin.ai.rules"))


@bp.post("/rules/<int:rule_id>/delete")
def delete_rule(rule_id: int):
    r = _rule(rule_id)
    ai_admin.delete_triage_rule(g.actor, rule_id)
    flash(_("Rule %(name)s was deleted.", name=r.name), "success")
    return redirect(url_for("admin.ai.rules"))


@bp.post("/refresh")
def refresh_status():
    """Forget the cached model status (after installing or fixing the model file)."""
    model_status.forget()
    return redirect(url_for("admin.ai.status"))
