"""Small helpers the admin form pages share: reading checkboxes and ids, rendering forms."""
from __future__ import annotations

from flask import render_template, request


def checked(name: str) -> bool:
    """An HTML checkbox is sent only when ticked."""
    return request.form.get(name) in ("1", "on", "true")


def form_page(template: str, errors: dict | None = None, **context):
    """Render a form page; 400 when it carries validation errors."""
    errors = errors or {}
    return render_template(template, errors=errors, **context), 400 if errors else 200


def values(*names: str) -> dict:
    """The named text fields of the posted form (and only those)."""
    return {n: request.form.get(n, "").strip() for n in names}
