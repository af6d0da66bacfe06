"""Knowledge suggestions on the ticket page (routes registered on the agent blueprint)."""
from __future__ import annotations

from webapp.views.agent_common import bp  # noqa: F401
