"""Public knowledge pages, suggestions and deflection in the customer portal
(routes registered on the portal blueprint).

Customers only ever see published public articles: the services filter (and answer
404 for anything else, so ids cannot be probed); nothing here adds content on top.
"""
from __future__ import annotations

import html

import nh3
from flask import Response, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup

from appliance.errors import ValidationError
from appliance.rules.markdown import plain_text, render_markdown, safe_highlight
from appliance.services import knowledge, knowledge_files, knowledge_search, knowledge_suggest
from webapp.files import content_disposition, served_type
from webapp.errors import retry_headers
from webapp.messages import translate
from webapp.views.portal import _settings, bp, customer_only

PAGE_SIZE = 20
EXCERPT_CHARS = 160


def _hit_item(hit) -> dict:
    a, marks = hit.article, hit.highlights or {}
    return {"article": a, "terms": list(hit.terms or [])[:8],
            "title": Markup(safe_highlight(marks["title"])) if marks.get("title") else a.title,  # nosec B704  # safe_highlight escapes first, adds only <mark>
            "excerpt": (Markup(safe_highlight(marks["body"])) if marks.get("body")  # nosec B704  # safe_highlight escapes first, adds only <mark>
                        else plain_text(a.body, EXCERPT_CHARS))}


def _excerpt_text(hit) -> str:
    """Plain text around the matches (the JSON is put into the page as text; the script
    marks the terms itself), else the article's beginning."""
    body = (hit.highlights or {}).get("body")
    if body:
        return html.unescape(nh3.clean(body, tags=set()))[:EXCERPT_CHARS * 2]
    return plain_text(hit.article.body, EXCERPT_CHARS)


@bp.get("/kb")
@customer_only
def kb():
    q = request.args.get("q", "").strip()
    offset = max(0, request.args.get("offset", 0, type=int) or 0)
    error, items, more = "", [], False
    if q:
        try:
            page = knowledge_search.search_articles(g.actor, q, scope="portal", limit=PAGE_SIZE,
                                                    offset=offset)
        except ValidationError as exc:
            error = translate(exc.fields.get("q", exc.message))
        else:
            items = [_hit_item(h) for h in page.hits]
            more = offset + len(items) < page.total
    else:
        rows = knowledge.list_articles(g.actor, status="published", limit=PAGE_SIZE, offset=offset)
        items = [{"article": a, "terms": [], "title": a.title,
                  "excerpt": plain_text(a.body, EXCERPT_CHARS)} for a in rows]
        more = len(items) == PAGE_SIZE
    return render_template("portal/kb_list.html", q=q, items=items, more=more, offset=offset,
                           page_size=PAGE_SIZE, error=error), 400 if error else 200


@bp.get("/kb/<int:article_id>")
@customer_only
def kb_article(article_id: int):
    a = knowledge.get_article(g.actor, article_id)  # 404 unless published and public
    # Images point at the staff file URL in the source; customers fetch them here.
    files_base = url_for("portal.kb_file", file_id=0).rsplit("/", 1)[0]
    body = render_markdown(a.body, file_ids=knowledge_files.file_ids(a.id), files_base=files_base)
    return render_template("portal/kb_article.html", article=a, body_html=Markup(body),  # nosec B704  # render_markdown output is nh3-sanitised
                           translations=knowledge.translations(g.actor, a.id))


@bp.post("/kb/<int:article_id>/solved")
@customer_only
def kb_solved(article_id: int):
    knowledge_suggest.deflect(g.actor, article_id)
    return redirect(url_for("portal.kb_thanks", article_id=article_id,
                            **({"from": "new"} if request.form.get("from") == "new" else {})))


@bp.get("/kb/<int:article_id>/solved")
@customer_only
def kb_thanks(article_id: int):
    a = knowledge.get_article(g.actor, article_id)
    return render_template("portal/kb_thanks.html", article=a,
                           from_new=request.args.get("from") == "new")


@bp.get("/kb/suggest")
@customer_only
def kb_suggest():
    """JSON for the new-ticket form: articles for the subject typed so far (not logged)."""
    try:
        hits = knowledge_suggest.portal_suggestions(g.actor, request.args.get("q", ""))
    except (ValidationError, knowledge_suggest.SuggestBusy) as exc:
        return jsonify({"error": {"code": exc.code, "message": translate(exc.message)},
                        "results": []}), exc.http_status, retry_headers(exc)
    return jsonify({"results": [{
        "id": h.article.id, "title": h.article.title,
        "excerpt": _excerpt_text(h), "terms": list(h.terms or [])[:8],
        "url": url_for("portal.kb_article", article_id=h.article.id),
        "solved_url": url_for("portal.kb_solved", article_id=h.article.id),
    } for h in hits]})


@bp.get("/kb/files/<int:file_id>")
@customer_only
def kb_file(file_id: int):
    """An image or attachment of a published public article; never rendered as a page."""
    f, data = knowledge_files.open_file(g.actor, file_id, _settings(), public_only=True)
    response = Response(data, mimetype=served_type(f.content_type))
    response.headers["Content-Disposition"] = content_disposition(f.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
