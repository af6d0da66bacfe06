"""API: supervisor board, reassignment, routing decisions."""
from __future__ import annotations

from webapp.api import api_bp  # noqa: F401
