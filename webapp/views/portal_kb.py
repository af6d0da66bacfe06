"""Public knowledge pages, suggestions and deflection in the customer portal
(routes registered on the portal blueprint)."""
from __future__ import annotations

from webapp.views.portal import bp  # noqa: F401
