"""Customer pages for agents: list with name search, profile with contacts and
ticket history, create and edit."""
from __future__ import annotations

import datetime as dt
import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import Conflict, ValidationError
from appliance.rules.access import (can_erase_customers, can_export_customers,
                                    can_merge_customers)
from appliance.services import customer_export, customer_merge, customers, erasure
from appliance.services.dispatch_state import vip_tier
from webapp.views.agent_common import actor, bp
from webapp.views.agent_forms import customer_fields

BLANK_CONTACT_ROWS = 2


@bp.get("/customers/")
def customers_list():
    q = request.args.get("q", "").strip()
    after = request.args.get("after", 0, type=int)
    page = customers.list_customers(actor(), search=q, after_id=max(after, 0))
    next_url = url_for("agent.customers_list", q=q or None, after=page.next_cursor) \
        if page.next_cursor else None
    return render_template("agent/customers.html", page=page, q=q, next_url=next_url)


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int):
    return _customer_page(customer_id)


def _customer_page(customer_id: int, status: int = 200, erase_error: str | None = None):
    profile = customers.get_customer(actor(), customer_id)
    if profile.merged_into:
        # History lives on in the survivor; the old address keeps leading there.
        flash(_("Customer #%(source)s was merged into this customer.", source=customer_id),
              "info")
        return redirect(url_for("agent.customer", customer_id=profile.merged_into))
    history = customers.customer_history(actor(), customer_id, request.args.get("cursor") or None)
    next_url = url_for("agent.customer", customer_id=customer_id, cursor=history.next_cursor) \
        if history.next_cursor else None
    return render_template("agent/customer.html", c=profile, history=history, next_url=next_url,
                           duplicates=customer_merge.possible_duplicates(actor(), customer_id),
                           can_merge=can_merge_customers(actor()), vip=vip_tier(customer_id),
                           can_erase=can_erase_customers(actor()), erase_error=erase_error,
                           can_export=can_export_customers(actor())
                           ), status


@bp.post("/customers/<int:customer_id>/erase")
def customer_erase(customer_id: int):
    """PIPL erasure on the customer's request. It cannot be undone, so the operator types
    the customer id to confirm; the service checks the permission and records it."""
    if request.form.get("confirm", "").strip() != str(customer_id):
        return _customer_page(customer_id, 400, _("Type the customer id %(id)s to confirm.",
                                                  id=customer_id))
    erasure.erase_customer(actor(), customer_id)
    flash(_("The customer's personal data was erased."), "success")
    return redirect(url_for("agent.customer", customer_id=customer_id), 303)


@bp.post("/customers/<int:customer_id>/export")
def customer_export_post(customer_id: int):
    """A PIPL copy of the customer's data as a JSON download (POST: it is an audited
    PII read, so a link or a prefetch must not trigger it)."""
    doc = customer_export.export_customer(actor(), customer_id)
    name = f"customer-{doc['customer']['id']}-{dt.date.today():%Y%m%d}.json"
    body = json.dumps(doc, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _form_values(profile=None) -> dict:
    if request.method == "POST":
        f = customer_fields(request.form)
        return {**f, "tags": ", ".join(f["tags"])}
    if profile is None:
        return {"name": "", "company": "", "notes": "", "tags": "", "contacts": []}
    return {"name": profile.name, "company": profile.company, "notes": profile.notes,
            "tags": ", ".join(profile.tags),
            "contacts": [{"kind": x.kind, "value": x.value, "label": x.label}
                         for x in profile.contacts]}


def _render_form(profile, errors: dict, status: int = 200, alert: str | None = None):
    values = _form_values(profile)
    return render_template("agent/customer_form.html", c=profile, form=values, errors=errors,
                           alert=alert, blank_rows=BLANK_CONTACT_ROWS,
                           version=request.form.get("expected_version") or
                           (profile.version if profile else "")), status


@bp.route("/customers/new", methods=["GET", "POST"])
def customer_new():
    if request.method == "GET":
        return _render_form(None, {})
    f = customer_fields(request.form)
    try:
        created = customers.create_customer(actor(), f["name"], company=f["company"],
                                            tags=f["tags"], notes=f["notes"],
                                            contacts=f["contacts"])
    except ValidationError as exc:
        return _render_form(None, exc.fields, 400)
    flash(_("Customer created."), "success")
    return redirect(url_for("agent.customer", customer_id=created.id))


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
def customer_edit(customer_id: int):
    profile = customers.get_customer(actor(), customer_id)
    if request.method == "GET":
        return _render_form(profile, {})
    changes = customer_fields(request.form)
    if profile.contacts_masked:
        changes.pop("contacts")  # shown masked and read-only: nothing to save
    try:
        customers.update_customer(actor(), customer_id, changes,
                                  expected_version=request.form.get("expected_version"))
    except ValidationError as exc:
        return _render_form(profile, exc.fields, 400)
    except Conflict:
        return _render_form(profile, {}, 409, alert=_(
            "Someone else changed this customer while you were editing. Nothing was saved: "
            "reload the page to see the changes, then apply yours again."))
    flash(_("Customer saved."), "success")
    return redirect(url_for("agent.customer", customer_id=customer_id))
