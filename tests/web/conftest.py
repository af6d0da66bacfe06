"""Flask test-client fixtures: a real app on a real SQLite file, logged-in clients."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_org
from webapp import create_app


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def org(settings):
    return make_org()


class Browser:
    """A test client that logs in through the real form and sends CSRF tokens."""

    def __init__(self, app):
        self.client = app.test_client()

    def csrf(self, path: str = "/login") -> str:
        html = self.client.get(path).get_data(as_text=True)
        m = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def login(self, username: str, password: str):
        token = self.csrf("/login")
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token})

    def get(self, *a, **kw):
        return self.client.get(*a, **kw)

    def post(self, path: str, data=None, csrf_from: str | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(csrf_from or "/account/tokens"))
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def browser(app):
    return lambda: Browser(app)


@pytest.fixture
def login(app, org):
    """login("wangfang") → a Browser logged in as that demo user."""
    def _login(username: str) -> Browser:
        b = Browser(app)
        r = b.login(username, org.passwords[username])
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return b
    return _login


@pytest.fixture
def people(app, org):
    """login(name) for the demo organisation plus a security ("sec") and an audit
    ("auditor") administrator: the three separated administrators' pages."""
    from appliance.rules.access import SYSTEM
    from appliance.services import users
    pw = dict(org.passwords)
    for name, role in (("sec", "security_admin"), ("auditor", "audit_admin")):
        _, pw[name] = users.create_user(SYSTEM, name, name.title(), role)

    def _login(name: str) -> Browser:
        b = Browser(app)
        assert b.login(name, pw[name]).status_code == 302
        return b
    return _login
