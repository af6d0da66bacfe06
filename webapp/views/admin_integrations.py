"""Admin: integration tokens for the chat and call intake API (/api/v1/intake/*).

A new token's secret is shown once, on the page that answers the form (like personal
API tokens on /account/tokens); afterwards only its name, channel and use are listed.
The admin blueprint's guard lets only administrators in; the service checks again.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import ValidationError
from appliance.services import integrations
from webapp.views.admin_forms import form_page, values

bp = Blueprint("integrations", __name__, url_prefix="/integrations")
CHANNEL_CHOICES = (("chat", _l("Online chat")), ("call", _l("Phone calls (PBX)")))


def _page(form: dict | None = None, errors: dict | None = None, secret: str | None = None,
          created=None):
    return form_page("admin/integrations.html", errors, tokens=integrations.list_tokens(g.actor),
                     form=form or {"channel": "chat"}, channels=CHANNEL_CHOICES,
                     channel_names=dict(CHANNEL_CHOICES), secret=secret, created=created)


@bp.get("/")
def index():
    return _page()


@bp.post("/")
def create():
    form = values("name", "channel")
    try:
        view, secret = integrations.create_token(g.actor, form["name"], form["channel"])
    except ValidationError as exc:
        return _page(form, exc.fields)
    return _page(secret=secret, created=view)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):
    view = integrations.revoke_token(g.actor, token_id)
    flash(_("The token “%(name)s” was revoked.", name=view.name), "success")
    return redirect(url_for("admin.integrations.index"))
