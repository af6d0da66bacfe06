"""Agent side of dispatch: presence, take next, my profile, notifications (agent blueprint)."""
from __future__ import annotations

from webapp.views.agent_common import bp  # noqa: F401
