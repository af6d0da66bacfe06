"""Admin pages for dispatch: department policies, agent profiles, shifts, category skills."""
from __future__ import annotations
