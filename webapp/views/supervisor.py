"""Supervisor board and reassignment (agent blueprint, supervisors and admins only)."""
from __future__ import annotations

from webapp.views.agent_common import bp  # noqa: F401
