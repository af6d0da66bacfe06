"""Knowledge-base API (/api/v1/kb/...)."""
from __future__ import annotations
