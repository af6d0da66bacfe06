"""Knowledge-base administration: synonym sets for search (退款/退钱/返款) and the
reviewers of each category. Nested under the admin blueprint (endpoints admin.kb.*,
admins only); the services check the role again."""
from __future__ import annotations

import re

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import NotFound, ValidationError
from appliance.services import knowledge_admin, users

bp = Blueprint("kb", __name__, url_prefix="/kb")
_WORD_SPLIT = re.compile(r"[,，、;；/\s]+")


def _search_service():
    # Imported when used: the search service is its own module (knowledge_search.py).
    from appliance.services import knowledge_search
    return knowledge_search


def parse_words(text: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(text or "") if w]


# --- synonyms --------------------------------------------------------------------------------

def _synonyms_page(errors=None, form=None, edit_id=None, status=200):
    sets = _search_service().list_synonym_sets(g.actor)
    return render_template("admin/kb_synonyms.html", sets=sets, errors=errors or {},
                           form=form or {}, edit_id=edit_id), status


@bp.get("/synonyms")
def synonyms():
    return _synonyms_page()


@bp.post("/synonyms")
def synonyms_create():
    return _save_synonyms(None)


@bp.post("/synonyms/<int:set_id>")
def synonyms_update(set_id: int):
    return _save_synonyms(set_id)


def _save_synonyms(set_id: int | None):
    text = request.form.get("words", "")
    try:
        _search_service().save_synonym_set(g.actor, set_id, parse_words(text))
    except ValidationError as exc:
        return _synonyms_page(exc.fields, {"words": text}, set_id, 400)
    flash(_("Synonyms saved."), "success")
    return redirect(url_for("admin.kb.synonyms"))


@bp.post("/synonyms/<int:set_id>/delete")
def synonyms_delete(set_id: int):
    _search_service().delete_synonym_set(g.actor, set_id)
    flash(_("Synonym set deleted."), "success")
    return redirect(url_for("admin.kb.synonyms"))


# --- category reviewers ----------------------------------------------------------------------

def _reviewers_page(errors=None, form=None, status=200):
    staff = sorted(users.list_active_staff(g.actor), key=lambda u: u.display_name)
    return render_template("admin/kb_reviewers.html", rows=knowledge_admin.list_reviewers(g.actor),
                           staff=staff, errors=errors or {}, form=form or {}), status


@bp.get("/reviewers")
def reviewers():
    return _reviewers_page()


@bp.post("/reviewers")
def reviewers_add():
    form = {k: request.form.get(k, "") for k in ("category_id", "user_id")}
    try:
        knowledge_admin.add_reviewer(g.actor, form["category_id"], form["user_id"])
    except ValidationError as exc:
        return _reviewers_page(exc.fields, form, 400)
    flash(_("Reviewer added."), "success")
    return redirect(url_for("admin.kb.reviewers"))


@bp.post("/reviewers/remove")
def reviewers_remove():
    try:
        knowledge_admin.remove_reviewer(g.actor, request.form.get("category_id", type=int),
                                        request.form.get("user_id", type=int))
    except NotFound:
        pass  # already gone: the page shows the current list either way
    flash(_("Reviewer removed."), "success")
    return redirect(url_for("admin.kb.reviewers"))
