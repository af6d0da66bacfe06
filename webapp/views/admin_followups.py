"""Admin: follow-up visit rules (回访规则; services.follow_up_rules, decision 0038).

One page lists the rules; one form creates or edits a rule: categories as a multi-select,
customer tags and customer ids as comma-separated text, the delay in hours (plain or
business hours on the department's SLA calendar), the script (Markdown, shown to staff
only), who calls, and the retries. The service names every problem by field; overlapping
rules are refused with the other rule's name.
"""
from __future__ import annotations

import re

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, ValidationError
from appliance.services import follow_up_rules, org
from webapp.messages import N_
from webapp.views.admin_forms import form_page
from webapp.views.agent_followups import translate as visit_translate

bp = Blueprint("followups", __name__, url_prefix="/follow-ups")
ASSIGN_LABELS = {"resolver": _l("The agent who resolved the ticket"),
                 "department": _l("The department's pool"), "team": _l("A team's pool")}
FIXED = {m: _l(m) for m in (
    N_("set at least one of category_ids, customer_tags, customer_ids (a rule for every "
       "ticket is not a selection)"),
    N_("only with assign_to department"), N_("only with assign_to team"),
    N_("required when a team calls"),
    N_("another rule has this name"), N_("must be one of resolver, department, team"),
    N_("follow-up rule not found"),
    N_("the rule was changed by someone else; reload and try again"),
)}
_OVERLAP = re.compile(r'^overlaps the active rule "(?P<name>.*)": ')
_RANGE = re.compile(r"^must be from (?P<low>\d+) to (?P<high>\d+)$")
_NO_TAG = re.compile(r"^customer (?P<id>\d+) carries none of customer_tags")


def translate(message) -> str:
    text = str(message or "")
    if text in FIXED:
        return str(FIXED[text])
    for pattern, msgid in ((_OVERLAP, N_("overlaps the active rule \"%(name)s\": a ticket "
                                         "could match both; make the categories, customer "
                                         "tags or customers disjoint")),
                           (_RANGE, N_("must be from %(low)s to %(high)s")),
                           (_NO_TAG, N_("customer %(id)s carries none of the customer tags: "
                                        "the rule could never match them"))):
        m = pattern.match(text)
        if m:
            return _(msgid, **m.groupdict())
    return visit_translate(text)


@bp.get("/")
def index():
    return form_page("admin/follow_ups.html", rules=follow_up_rules.list_rules(g.actor),
                     categories={c.id: c.path for c in org.list_categories()},
                     assign_labels=ASSIGN_LABELS)


def _form(view=None) -> dict:
    if view is None:
        return {"active": True, "delay_hours": "24", "assign_to": "resolver",
                "max_attempts": "3", "retry_hours": "4", "category_ids": []}
    return {"name": view.name, "active": view.active, "category_ids": view.category_ids,
            "customer_tags": ", ".join(view.customer_tags),
            "customer_ids": ", ".join(str(i) for i in view.customer_ids),
            "delay_hours": _hours(view.delay_minutes), "business_time": view.business_time,
            "script": view.script, "assign_to": view.assign_to,
            "pool_department_id": view.pool_department.id if view.pool_department else "",
            "pool_team_id": view.pool_team.id if view.pool_team else "",
            "max_attempts": str(view.max_attempts), "retry_hours": _hours(view.retry_minutes),
            "version": view.version}


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


def _minutes(text: str):
    """Hours as typed (1.5 is allowed) into whole minutes; bad text goes to the service
    as is, so that it answers with the field's message."""
    try:
        return str(round(float(text.strip()) * 60))
    except ValueError:
        return text or None


def _data(form) -> dict:
    return {"name": form.get("name", ""), "active": bool(form.get("active")),
            "category_ids": form.getlist("category_ids"),
            "customer_tags": form.get("customer_tags", ""),
            "customer_ids": form.get("customer_ids", ""),
            "delay_minutes": _minutes(form.get("delay_hours", "")),
            "business_time": bool(form.get("business_time")),
            "script": form.get("script", ""), "assign_to": form.get("assign_to", ""),
            "pool_department_id": form.get("pool_department_id", ""),
            "pool_team_id": form.get("pool_team_id", ""),
            "max_attempts": form.get("max_attempts", ""),
            "retry_minutes": _minutes(form.get("retry_hours", "")),
            "expected_version": form.get("version", "")}


def _page(form: dict, errors: dict | None = None, rule=None):
    return form_page("admin/follow_up_rule.html", errors, form=form, rule=rule,
                     categories=[(c.id, c.path) for c in org.list_categories()],
                     departments=[(d.id, d.name) for d in org.list_departments()],
                     teams=follow_up_rules.team_choices(g.actor), assign_labels=ASSIGN_LABELS)


@bp.get("/new")
def new_rule():
    return _page(_form())


@bp.get("/<int:rule_id>")
def rule(rule_id: int):
    view = follow_up_rules.get_rule(g.actor, rule_id)
    return _page(_form(view), rule=view)


@bp.post("/new")
@bp.post("/<int:rule_id>")
def save_rule(rule_id: int | None = None):
    form = request.form
    current = follow_up_rules.get_rule(g.actor, rule_id) if rule_id else None   # 404 first
    try:
        follow_up_rules.save_rule(g.actor, rule_id, _data(form))
    except ValidationError as exc:
        shown = {**form.to_dict(), "category_ids": [int(x) for x in form.getlist("category_ids")
                                                    if x.isdigit()],
                 "active": bool(form.get("active")),
                 "business_time": bool(form.get("business_time"))}
        errors = {_field(k): translate(v) for k, v in exc.fields.items()}
        return _page(shown, errors, current)
    except Conflict:
        flash(_("The rule was changed by someone else; reload and try again."), "error")
        return redirect(url_for("admin.followups.index"))
    flash(_("The follow-up rule was saved."), "success")
    return redirect(url_for("admin.followups.index"))


def _field(name: str) -> str:
    """The form's name of a service field (hours on the form, minutes in the service)."""
    return {"delay_minutes": "delay_hours", "retry_minutes": "retry_hours"}.get(name, name)


@bp.post("/<int:rule_id>/delete")
def delete_rule(rule_id: int):
    follow_up_rules.delete_rule(g.actor, rule_id)
    flash(_("The follow-up rule was deleted."), "success")
    return redirect(url_for("admin.followups.index"))
