"""API: dispatch policies and agent profiles (admins)."""
from __future__ import annotations

from webapp.api import api_bp  # noqa: F401
