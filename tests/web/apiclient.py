"""A test client for /api/v1 that sends a real bearer token (made by the real service)."""
from __future__ import annotations

import pytest

from appliance.services import users
from tests.factories import actor


class ApiClient:
    """Requests carry `Authorization: Bearer <token>`; paths are relative to /api/v1."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.token = token

    def open(self, method: str, path: str, headers: dict | None = None, **kw):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kw)

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)


def token_for(username: str, name: str = "test") -> str:
    return users.create_api_token(actor(username), name)[1]


@pytest.fixture
def api(app, org):
    """api("wangfang") → an ApiClient with a fresh token of that demo user."""
    return lambda username: ApiClient(app, token_for(username))
