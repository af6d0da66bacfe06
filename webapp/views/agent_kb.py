"""Knowledge-base pages for staff: the list with search and facets, an article with its
life-cycle buttons, files and ticket links, and the write form with a preview.
Versions, the review queue and merging are in agent_kb_review.py.

Views translate, services decide: every permission is checked again by
appliance/services/knowledge*.py; the buttons shown here only mirror those rules.
"""
from __future__ import annotations

import re

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from appliance.errors import Conflict, NotFound, PayloadTooLarge, PermissionDenied, \
    UnsupportedMediaType, ValidationError
from appliance.rules import knowledge as rules
from appliance.rules.markdown import render_markdown, safe_highlight
from appliance.services import knowledge, knowledge_files, knowledge_review, tickets
from appliance.services.knowledge import ArticleInput
from webapp.files import content_disposition, served_type, uploads_from_request
from webapp.messages import translate
from webapp.views.agent_common import actor, bp, form_choices, settings

PAGE_SIZE = 50
STATUS_LABELS = {"draft": _l("Draft"), "in_review": _l("In review"),
                 "published": _l("Published"), "archived": _l("Archived"),
                 "rejected": _l("Rejected"), "merged": _l("Merged")}
ACTION_LABELS = {"submit": _l("Submit for review"), "return": _l("Return to draft"),
                 "approve": _l("Approve and publish"), "unpublish": _l("Unpublish"),
                 "archive": _l("Archive"), "restore": _l("Restore"), "reject": _l("Reject")}
LANGUAGE_LABELS = {"zh": _l("Chinese"), "en": _l("English")}
VISIBILITY_LABELS = {"internal": _l("Internal"), "public": _l("Public")}
FIELD_LABELS = {"reason": _l("Reason"), "files": _l("Files"), "target": _l("Ticket"),
                "title": _l("Title"), "body": _l("Body"), "action": _l("Action"), "q": _l("Search")}
AI_FILTER = {"yes": True, "no": False}  # the list's "AI-generated" choice; anything else: either
_TAG_SPLIT = re.compile(r"[,，、;；\n]+")


@bp.context_processor
def _kb_labels():
    return {"kb_status_labels": STATUS_LABELS, "kb_action_labels": ACTION_LABELS,
            "kb_language_labels": LANGUAGE_LABELS, "kb_visibility_labels": VISIBILITY_LABELS}


@bp.app_template_filter("kb_highlight")
def kb_highlight(fragment) -> Markup:
    return Markup(safe_highlight(str(fragment or "")))  # nosec B704  # safe_highlight escapes first, adds only <mark>


_NOTES = [(re.compile(r"^created$"), _l("created")), (re.compile(r"^edited$"), _l("edited")),
          (re.compile(r"^rolled back to version (?P<n>\d+)$"), _l("rolled back to version %(n)s")),
          (re.compile(r"^merged proposal #(?P<n>\d+)$"), _l("merged proposal #%(n)s"))]


@bp.app_template_filter("kb_note")
def kb_note(note: str) -> str:
    """A version's note (written by the services in English) in the reader's language."""
    for pattern, msgid in _NOTES:
        m = pattern.match(note or "")
        if m:
            return str(msgid) % m.groupdict() if m.groupdict() else str(msgid)
    return note or ""


def error_text(exc) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{FIELD_LABELS.get(name, name)}: {translate(m)}"
                         for name, m in exc.fields.items())
    return translate(exc.message)


# --- list and search -------------------------------------------------------------------------

def _filters() -> dict:
    a = request.args
    return {"q": a.get("q", "").strip()[:200], "status": a.get("status", ""),
            "language": a.get("language", ""), "visibility": a.get("visibility", ""),
            "category_id": a.get("category_id", type=int), "ai": a.get("ai", ""),
            "offset": max(0, a.get("offset", 0, type=int))}


def _search(f: dict):
    """Search results through the index (services/knowledge_search.py); None if the
    search service is not installed, so the plain list is shown instead."""
    try:
        from appliance.services import knowledge_search
    except ImportError:
        return None
    return knowledge_search.search_articles(
        actor(), f["q"], scope="agent", language=f["language"] or None,
        category_id=f["category_id"], visibility=f["visibility"] or None,
        status=f["status"] or None, ai_generated=AI_FILTER.get(f["ai"]),
        limit=PAGE_SIZE, offset=f["offset"])


@bp.get("/kb")
def kb_list():
    f = _filters()
    error = None
    try:
        page = _search(f) if f["q"] else None
    except ValidationError as exc:
        page, error = None, error_text(exc)
    articles = [] if page is not None else knowledge.list_articles(
        actor(), status=f["status"] or None, language=f["language"] or None,
        category_id=f["category_id"], visibility=f["visibility"] or None,
        ai_generated=AI_FILTER.get(f["ai"]), limit=PAGE_SIZE + 1,
        offset=f["offset"])
    more = len(articles) > PAGE_SIZE or (page is not None and page.total > f["offset"] + PAGE_SIZE)
    args = {k: v for k, v in f.items() if v not in ("", None, 0)}
    next_url = url_for("agent.kb_list", **{**args, "offset": f["offset"] + PAGE_SIZE}) if more else None
    return render_template("agent/kb_list.html", f=f, page=page, articles=articles[:PAGE_SIZE],
                           next_url=next_url, categories=form_choices()["categories"],
                           filter_args=args, error=error)


# --- one article -----------------------------------------------------------------------------

def article_permissions(a: knowledge.ArticleView) -> dict:
    who = actor()
    facts = knowledge.review_facts(a.category_id)
    can_review = rules.can_review(who, facts)
    return {"can_review": can_review, "can_edit": rules.can_edit(who, a.status, facts),
            "actions": rules.allowed_actions(a.status, can_review=can_review,
                                             can_write=rules.can_write(who),
                                             proposal=a.update_of is not None)}


def _render_article(article_id: int, status: int = 200, **extra):
    who = actor()
    a = knowledge.get_article(who, article_id)
    body = render_markdown(a.body, file_ids=knowledge_files.file_ids(a.id))
    return render_template(
        "agent/kb_article.html", article=a, body_html=Markup(body), **article_permissions(a),  # nosec B704  # render_markdown output is nh3-sanitised
        translations=knowledge.translations(who, a.id),
        related=knowledge_review.related_tickets(who, a.id),
        sources=knowledge_review.source_tickets(who, a.id),
        versions=knowledge_review.versions(who, a.id), files=knowledge_files.list_files(who, a.id),
        target=knowledge.visible_article(who, a.update_of) if a.update_of else None,
        max_image=knowledge_files.image_limit(settings()),
        max_file=knowledge_files.file_limit(settings()),
        **extra), status


@bp.get("/kb/articles/<int:article_id>")  # the address reply-draft citations used first
@bp.get("/kb/<int:article_id>")
def kb_article(article_id: int):
    return _render_article(article_id)


@bp.post("/kb/<int:article_id>/action")
def kb_action(article_id: int):
    action = request.form.get("action", "")
    try:
        a = knowledge_review.transition(actor(), article_id, action,
                                        reason=request.form.get("reason", ""),
                                        expected_version=request.form.get("expected_version"))
    except (ValidationError, Conflict, PermissionDenied) as exc:
        return _render_article(article_id, exc.http_status, action_error=error_text(exc))
    flash(_("%(action)s: done. The article is now %(status)s.",
            action=ACTION_LABELS.get(action, action), status=STATUS_LABELS.get(a.status, a.status)),
          "success")
    back = request.form.get("next") == "review"
    return redirect(url_for("agent.kb_review") if back else url_for("agent.kb_article", article_id=a.id))


@bp.post("/kb/<int:article_id>/delete")
def kb_delete(article_id: int):
    title = knowledge.get_article(actor(), article_id).title
    try:
        knowledge_review.delete_article(actor(), article_id,
                                        expected_version=request.form.get("expected_version"))
    except (Conflict, PermissionDenied) as exc:
        msg = (_("This article is published or a posted reply links to it, so it cannot be "
                 "deleted. Archive it instead.")
               if isinstance(exc, Conflict) and "archive" in exc.message else error_text(exc))
        return _render_article(article_id, exc.http_status, delete_error=msg)
    flash(_("Article “%(title)s” was deleted.", title=title), "success")
    return redirect(url_for("agent.kb_list"))


# --- related tickets -------------------------------------------------------------------------

@bp.post("/kb/<int:article_id>/tickets")
def kb_link_ticket(article_id: int):
    try:
        ticket_id = tickets.find_ticket_id(actor(), request.form.get("ticket", ""))
        knowledge_review.link_ticket(actor(), article_id, ticket_id, "related")
    except ValidationError as exc:
        return _render_article(article_id, 400, ticket_error=error_text(exc))
    except NotFound:
        knowledge.get_article(actor(), article_id)  # a missing article stays a 404
        return _render_article(article_id, 404, ticket_error=_(
            "No ticket with this number or id that you may see."))
    flash(_("Ticket linked."), "success")
    return redirect(url_for("agent.kb_article", article_id=article_id))


@bp.post("/kb/<int:article_id>/tickets/<int:ticket_id>/unlink")
def kb_unlink_ticket(article_id: int, ticket_id: int):
    knowledge_review.unlink_ticket(actor(), article_id, ticket_id)
    flash(_("Ticket unlinked."), "success")
    return redirect(url_for("agent.kb_article", article_id=article_id))


# --- files -----------------------------------------------------------------------------------

@bp.post("/kb/<int:article_id>/files")
def kb_upload(article_id: int):
    try:
        added = knowledge_files.upload_files(actor(), article_id, uploads_from_request("files"),
                                             settings())
    except (ValidationError, PayloadTooLarge, UnsupportedMediaType, PermissionDenied) as exc:
        return _render_article(article_id, exc.http_status, file_error=error_text(exc))
    flash(ngettext("%(num)d file added.", "%(num)d files added.", len(added)), "success")
    return redirect(url_for("agent.kb_article", article_id=article_id) + "#kb-files")


@bp.get("/kb/files/<int:file_id>")
def kb_file(file_id: int):
    """An article's image or attachment: never rendered as a page by the browser."""
    f, data = knowledge_files.open_file(actor(), file_id, settings())
    response = Response(data, mimetype=served_type(f.content_type))
    response.headers["Content-Disposition"] = content_disposition(f.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/kb/files/<int:file_id>/delete")
def kb_file_delete(file_id: int):
    article_id = request.form.get("article_id", type=int)
    knowledge_files.delete_file(actor(), file_id, settings())
    flash(_("File deleted."), "success")
    return redirect(url_for("agent.kb_article", article_id=article_id) + "#kb-files"
                    if article_id else url_for("agent.kb_list"))


# --- write -----------------------------------------------------------------------------------

def parse_tags(text: str) -> list[str]:
    return [t.strip() for t in _TAG_SPLIT.split(text or "") if t.strip()]


def _posted() -> tuple[ArticleInput, dict]:
    form = request.form
    data = ArticleInput(title=form.get("title", ""), body=form.get("body", ""),
                        language=form.get("language", ""), visibility=form.get("visibility", ""),
                        tags=parse_tags(form.get("tags", "")),
                        category_id=form.get("category_id") or None,
                        owner_id=form.get("owner_id") or None,
                        review_by=form.get("review_by") or None,
                        translation_of=form.get("translation_of") or None)
    shown = {k: form.get(k, "") for k in ("title", "body", "language", "visibility", "tags",
                                          "category_id", "owner_id", "review_by", "translation_of")}
    return data, shown


def _shown(a: knowledge.ArticleView) -> dict:
    return {"title": a.title, "body": a.body, "language": a.language, "visibility": a.visibility,
            "tags": ", ".join(a.tags), "category_id": a.category_id or "",
            "owner_id": a.owner.id if a.owner else "",
            "review_by": a.review_by.isoformat() if a.review_by else "", "translation_of": ""}


def _render_form(article, form: dict, errors=None, status: int = 200, *, version=None, **extra):
    choices = form_choices()
    version = version or request.form.get("expected_version") or (article.version if article else "")
    return render_template(
        "agent/kb_form.html", article=article, form=form, errors=errors or {},
        categories=choices["categories"], agents=choices["agents"], version=version,
        preview_html=Markup(render_markdown(form.get("body", ""))) if extra.pop("preview", False)  # nosec B704  # render_markdown output is nh3-sanitised
        else None, **extra), status


def _new_form() -> dict:
    """Blank, or prefilled from the article this one translates."""
    form = {"language": "zh", "visibility": "internal"}
    original_id = request.args.get("translation_of", type=int)
    if original_id:
        o = knowledge.get_article(actor(), original_id)
        form = {**_shown(o), "title": "", "body": "", "translation_of": o.id,
                "language": "en" if o.language == "zh" else "zh"}
    return form


@bp.route("/kb/new", methods=["GET", "POST"])
def kb_new():
    if request.method == "GET":
        return _render_form(None, _new_form())
    data, shown = _posted()
    if "preview" in request.form:
        return _render_form(None, shown, preview=True)
    try:
        a = knowledge.create_article(actor(), data)
    except ValidationError as exc:
        return _render_form(None, shown, exc.fields, 400)
    flash(_("Article created as a draft."), "success")
    return redirect(url_for("agent.kb_article", article_id=a.id))


@bp.route("/kb/<int:article_id>/edit", methods=["GET", "POST"])
def kb_edit(article_id: int):
    a = knowledge.get_article(actor(), article_id)
    if request.method == "GET":
        return _render_form(a, _shown(a))
    data, shown = _posted()
    if "preview" in request.form:
        return _render_form(a, shown, preview=True)
    try:
        knowledge.update_article(actor(), article_id, data,
                                 expected_version=request.form.get("expected_version"))
    except ValidationError as exc:
        return _render_form(a, shown, exc.fields, 400)
    except PermissionDenied as exc:
        return _render_form(a, shown, {}, 403, alert=error_text(exc))
    except Conflict:
        current = knowledge.get_article(actor(), article_id)
        # Their text is shown beside the user's, and the next save is against it:
        # nothing of either is lost, and the user decides what stays.
        return _render_form(current, shown, {}, 409, version=current.version, theirs=current, alert=_(
            "Someone else changed this article while you were editing. Nothing was saved. "
            "Your text is kept below and their version is shown under it; saving again "
            "replaces their version with yours."))
    flash(_("Article saved."), "success")
    return redirect(url_for("agent.kb_article", article_id=article_id))


@bp.post("/kb/preview")
def kb_preview():
    """The rendered, sanitised body for the live preview (static/kb.js)."""
    body = request.form.get("body", "")[:knowledge.MAX_BODY]
    return Response(render_markdown(body), mimetype="text/html")


from webapp.views import agent_kb_review  # noqa: E402,F401  (registers its routes on bp)
