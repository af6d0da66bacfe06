"""Knowledge suggestions on the ticket page (routes registered on the agent blueprint).

The ticket page carries only the panel's frame; webapp/static/kb_suggest.js fetches the
list from here once the page is shown. Measured (59 articles, 400 resolved tickets,
idle machine): the page 24-25 ms median with or without the frame, the suggestions
12 ms in the service and 15-18 ms as this fragment; on a busy machine 30-80 ms. Two
index searches grow with the index (the search target is p95 <= 100 ms each at 50,000
articles and 1,000,000 tickets), so inline they would break the "at most ~30 ms
slower" budget; fetched afterwards, the ticket never waits for them.
"""
from __future__ import annotations

from flask import render_template, url_for
from markupsafe import Markup

from appliance.rules.markdown import safe_highlight
from appliance.services import knowledge_suggest
from webapp.views.agent_common import actor, bp


def _article_item(hit) -> dict:
    """What the panel shows and inserts for one article hit."""
    a = hit.article
    public = a.visibility == "public"
    url = (url_for("portal.kb_article", article_id=a.id, _external=True) if public
           else url_for("agent.kb_article", article_id=a.id, _external=True))
    return {"id": a.id, "title": a.title, "internal": not public, "url": url,
            "terms": list(hit.terms or [])[:8], "snippet": knowledge_suggest.snippet(a),
            "highlight": Markup(safe_highlight((hit.highlights or {}).get("body") or "")),  # nosec B704  # safe_highlight escapes first, adds only <mark>
            "view_url": url_for("agent.kb_article", article_id=a.id)}


@bp.get("/tickets/<int:ticket_id>/kb-suggestions")
def kb_suggestions(ticket_id: int):
    found = knowledge_suggest.ticket_suggestions(actor(), ticket_id)
    return render_template("agent/_kb_suggestions.html", loaded=True, ticket_id=ticket_id,
                           articles=[_article_item(h) for h in found.articles],
                           similar=found.tickets)
