"""API: presence, heartbeat, take next, notifications (the agent's own)."""
from __future__ import annotations

from webapp.api import api_bp  # noqa: F401
