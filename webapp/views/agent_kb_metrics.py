"""Knowledge metrics page for knowledge managers (routes on the agent blueprint)."""
from __future__ import annotations

from webapp.views.agent_common import bp  # noqa: F401
