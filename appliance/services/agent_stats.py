"""Agent efficiency per category over a rolling window (models.dispatch.AgentStat)."""
from __future__ import annotations

from appliance import jobs


@jobs.handler("agent_stats")
def recompute_agent(user_id: int) -> None:
    """Placeholder until the statistics land."""
