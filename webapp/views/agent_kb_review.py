"""Knowledge-base review pages for staff: versions with a readable diff and rollback,
the review queue (AI drafts and proposals first-class), and merging a proposal into
the article it updates. Routes on the agent blueprint (imported by agent_kb)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.rules import knowledge as rules
from appliance.rules.markdown import render_markdown
from appliance.services import knowledge, knowledge_review
from webapp.views.agent_common import actor, bp
from webapp.views.agent_kb import article_permissions, error_text


def _version_page(article_id: int, version: int, against=None, status: int = 200, alert=""):
    a = knowledge.get_article(actor(), article_id)
    d = knowledge_review.diff(actor(), article_id, version, against)
    return render_template("agent/kb_version.html", article=a, d=d, alert=alert,
                           versions=knowledge_review.versions(actor(), article_id),
                           **article_permissions(a)), status


@bp.get("/kb/<int:article_id>/versions/<int:version>")
def kb_version(article_id: int, version: int):
    """Version `version` against the latest (or `?against=<n>`)."""
    return _version_page(article_id, version, request.args.get("against", type=int))


@bp.post("/kb/<int:article_id>/rollback")
def kb_rollback(article_id: int):
    version = request.form.get("version", type=int) or 0
    try:
        knowledge_review.rollback(actor(), article_id, version,
                                  expected_version=request.form.get("expected_version"))
    except (Conflict, PermissionDenied) as exc:
        return _version_page(article_id, version, status=exc.http_status, alert=error_text(exc))
    flash(_("Rolled back to version %(v)s (saved as a new version).", v=version), "success")
    return redirect(url_for("agent.kb_article", article_id=article_id))


# --- the review queue ------------------------------------------------------------------------

def _proposal_diff(item) -> list[rules.DiffLine]:
    if item.target is None:
        return []
    return rules.text_diff(item.target.body, item.article.body)


@bp.get("/kb/review")
def kb_review():
    items = knowledge_review.review_queue(actor())
    return render_template("agent/kb_review.html", items=items,
                           diffs={i.article.id: _proposal_diff(i) for i in items})


def _merge_page(proposal, target, form: dict, status: int = 200, alert: str = ""):
    return render_template(
        "agent/kb_merge.html", proposal=proposal, target=target, form=form, alert=alert,
        title_diff=rules.text_diff(target.title, form["title"]),
        body_diff=rules.text_diff(target.body, form["body"]),
        preview_html=Markup(render_markdown(form["body"]))), status  # nosec B704  # render_markdown output is nh3-sanitised


@bp.route("/kb/review/<int:proposal_id>/merge", methods=["GET", "POST"])
def kb_merge(proposal_id: int):
    """Merge an AI proposal into its target, with the text edited first if needed."""
    p = knowledge.get_article(actor(), proposal_id)
    if p.update_of is None:
        return redirect(url_for("agent.kb_article", article_id=p.id))
    target = knowledge.get_article(actor(), p.update_of)
    if request.method == "GET":
        return _merge_page(p, target, {"title": p.title, "body": p.body, "version": p.version})
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", ""),
            "version": request.form.get("expected_version", "")}
    if "preview" in request.form:
        return _merge_page(p, target, form)
    try:
        merged = knowledge_review.merge_proposal(actor(), proposal_id, title=form["title"],
                                                 body=form["body"],
                                                 expected_version=form["version"])
    except (ValidationError, Conflict, PermissionDenied) as exc:
        return _merge_page(p, target, form, exc.http_status, error_text(exc))
    flash(_("The proposal was merged into “%(title)s”.", title=merged.title), "success")
    return redirect(url_for("agent.kb_article", article_id=merged.id))
