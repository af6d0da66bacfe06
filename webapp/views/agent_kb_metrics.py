"""Knowledge metrics page for knowledge managers (supervisors and administrators; the
service refuses anyone else with 403). Routes on the agent blueprint; the same figures
are at GET /api/v1/kb/metrics."""
from __future__ import annotations

from flask import render_template, request

from appliance.services import knowledge_metrics
from webapp.views.agent_common import actor, bp

PERIODS = (7, 30, 90, 365)


@bp.get("/kb/metrics")
def kb_metrics():
    m = knowledge_metrics.knowledge_metrics(actor(), request.args.get("days"))
    return render_template("agent/kb_metrics.html", m=m, periods=PERIODS,
                           percent=_percent(m.coverage.ratio))


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f} %"
