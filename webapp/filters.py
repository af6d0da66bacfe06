"""Jinja filters and globals shared by all templates."""
from __future__ import annotations

from flask import Flask, g
from flask_babel import format_datetime, get_locale, lazy_gettext

STATUS_LABELS = {
    "new": lazy_gettext("New"), "open": lazy_gettext("Open"),
    "pending_customer": lazy_gettext("Pending customer"),
    "pending_internal": lazy_gettext("Pending internal"),
    "resolved": lazy_gettext("Resolved"), "closed": lazy_gettext("Closed"),
}
CHANNEL_LABELS = {"web": lazy_gettext("Web"), "email": lazy_gettext("Email"),
                  "phone": lazy_gettext("Phone"), "chat": lazy_gettext("Chat"),
                  "api": lazy_gettext("API")}
URGENCY_LABELS = {"low": lazy_gettext("Low"), "medium": lazy_gettext("Medium"),
                  "high": lazy_gettext("High")}
ROLE_LABELS = {"customer": lazy_gettext("Customer"), "agent": lazy_gettext("Agent"),
               "supervisor": lazy_gettext("Supervisor"), "admin": lazy_gettext("Administrator"),
               # 三权分立 (decision 0029): "admin" above is the system administrator.
               "security_admin": lazy_gettext("Security administrator"),
               "audit_admin": lazy_gettext("Audit administrator")}


def init_app(app: Flask) -> None:
    app.jinja_env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    app.jinja_env.filters["channel_label"] = lambda s: CHANNEL_LABELS.get(s, s)
    app.jinja_env.filters["urgency_label"] = lambda s: URGENCY_LABELS.get(s, s)
    app.jinja_env.filters["role_label"] = lambda s: ROLE_LABELS.get(s, s)
    app.jinja_env.filters["dt"] = lambda d: format_datetime(d, "yyyy-MM-dd HH:mm") if d else ""
    app.jinja_env.filters["priority_label"] = lambda p: f"P{p}"
    from webapp.messages import translate
    app.jinja_env.filters["tr"] = translate

    @app.context_processor
    def _globals():
        return {"current_user": g.get("user"), "STATUS_LABELS": STATUS_LABELS,
                "get_locale": get_locale}
