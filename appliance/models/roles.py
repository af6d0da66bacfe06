"""Custom roles built by the security administrator from the permission catalogue
(rules/access.py PERMISSIONS). Built-in roles live in code, not here; a user holding a
custom role keeps its base role in `User.role` (department scope, routing) and points
here for the permissions (docs/decisions/0029-roles-and-permissions.md)."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow


class Role(BaseModel):
    name = pw.CharField(max_length=64, unique=True)
    description = pw.CharField(max_length=255, default="")
    base_role = pw.CharField(max_length=16)
    permissions = pw.TextField(default="")  # space-separated permission names, sorted
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    version = pw.IntegerField(default=1)

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(self.permissions.split())
