"""The agent workspace blueprint and what its views share: the staff-only gate,
the current actor and settings, uploads, and the filters its templates use."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g
from markupsafe import Markup, escape

from appliance.services import org, users
from appliance.settings import Settings
from webapp.auth import STAFF, login_required
from webapp.filters import CHANNEL_LABELS, STATUS_LABELS, URGENCY_LABELS
from webapp.views.agent_labels import describe_value, event_label, field_label

bp = Blueprint("agent", __name__, url_prefix="/agent")

# The search index marks matches with two private-use characters (agreed with
# search/whoosh_index.py) so that snippets can be escaped before marking them up.
MARK_START, MARK_END = "\ue000", "\ue001"
_MARKED = re.compile(MARK_START + "(.*?)" + MARK_END, re.S)


@bp.before_request
@login_required(*STAFF)
def _staff_only():
    """Every agent page needs a staff login; customers get 403, visitors the login page."""
    return None


def settings() -> Settings:
    return current_app.config["GONGDAN"]


def actor():
    return g.actor


def form_choices() -> dict:
    """Options for the ticket forms: departments, categories, agents, custom fields."""
    if "agent_choices" in g:
        return g.agent_choices
    # Per role, so that an administrator's list never walks every portal customer.
    staff = users.list_active_staff(actor())
    g.agent_choices = {"departments": org.list_departments(), "categories": org.list_categories(),
                       "agents": staff, "field_defs": org.list_custom_fields(active_only=True)}
    return g.agent_choices


def names_for(choices: dict, detail=None) -> dict:
    """Id → name maps so the timeline can say "王芳" instead of "3"."""
    names = {"department_id": {d.id: d.name for d in choices["departments"]},
             "category_id": {c.id: c.path for c in choices["categories"]},
             "assignee_id": {u.id: u.display_name for u in choices["agents"]}}
    if detail is not None:
        names["ticket"] = {lk.ticket_id: lk.number for lk in detail.links}
    return names


@bp.app_template_filter("highlight")
def highlight(text) -> Markup:
    """Escape an index snippet, then turn the agreed match markers into <mark>."""
    escaped = str(escape(text or ""))
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return Markup(marked.replace(MARK_START, "").replace(MARK_END, ""))  # nosec B704  # built from escape(text) plus literal <mark> tags


@bp.app_template_filter("event_value")
def _event_value(value, field: str = "", names: dict | None = None) -> str:
    return describe_value(value, field, names)


@bp.app_template_filter("event_label")
def _event_label(kind: str) -> str:
    return event_label(kind)


@bp.app_template_filter("field_label")
def _field_label(name: str) -> str:
    return field_label(name)


@bp.app_template_filter("filesize")
def filesize(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@bp.app_template_filter("options")
def options(items, label_attr: str = "name") -> list[tuple]:
    """(id, label) pairs for a select, from a list of DTOs."""
    return [(item.id, getattr(item, label_attr)) for item in items]


@bp.app_template_filter("pair")
def pair(value) -> tuple:
    return (value, value)


@bp.app_template_filter("status_pair")
def status_pair(status: str) -> tuple:
    return (status, STATUS_LABELS.get(status, status))


@bp.app_template_filter("channel_pair")
def channel_pair(channel: str) -> tuple:
    return (channel, CHANNEL_LABELS.get(channel, channel))


@bp.app_template_filter("urgency_pair")
def urgency_pair(urgency: str) -> tuple:
    return (urgency, URGENCY_LABELS.get(urgency, urgency))


@bp.app_template_filter("agent_options")
def agent_options(agents) -> list[tuple]:
    """Agents as select options, with their department so supervisors pick the right one."""
    return [(u.id, f"{u.display_name} · {u.department.name}" if u.department else u.display_name)
            for u in agents]
