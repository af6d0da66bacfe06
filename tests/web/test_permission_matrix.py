"""Every endpoint × every role, requested for real through the test client and compared
with the generated matrix (webapp/permission_matrix.py, docs/permission-matrix.md):
GET for pages, POST/PUT/PATCH/DELETE with a valid CSRF token for state changes, and the
database unchanged by every refused state change."""
from __future__ import annotations

import os
import re

import pytest

from appliance.services import users
from tests.web import permission_world as pw
from webapp import permission_matrix as pm

WRITE = ("POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>")


def _path(rule, ids: dict) -> str:
    return _PARAM.sub(lambda m: str(ids.get(m.group(1), 1)), rule.rule)


def classify(r) -> str:
    if r.status_code == 503:
        return "allowed"  # past every check; the local model is not installed in tests
    if r.status_code >= 500:
        return f"error {r.status_code}"
    if r.status_code == 401:
        return "login"
    if r.status_code in (301, 302, 303, 307, 308):
        return "login" if "/login" in r.headers.get("Location", "") else "redirect"
    if r.status_code == 403:
        return "denied"
    return "allowed"


class Caller:
    """One role's way in: a browser session for pages, a bearer token for the API."""

    def __init__(self, app, world, role):
        self.app, self.world, self.role = app, world, role
        self.web = app.test_client()
        self.token = ""
        if role != "anonymous":
            self.login()

    def login(self):
        from tests.web.conftest import Browser
        b = Browser(self.app)
        name = pw.ROLE_USERS[self.role]
        r = b.login(name, self.world.passwords[name])
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
        self.web = b.client
        if not self.token:
            self.token = users.create_api_token(pw.actor_of(name), "matrix")[1]

    def csrf(self) -> str:
        page = "/login" if self.role == "anonymous" else "/account/tokens"
        html = self.web.get(page).get_data(as_text=True)
        m = re.search(r'name="csrf_token" value="([^"]+)"', html)
        return m.group(1) if m else ""

    def call(self, method: str, path: str):
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            return self.web.open(path, method=method, json={}, headers=headers)
        data = {"csrf_token": self.csrf()} if method in WRITE else None
        return self.web.open(path, method=method, data=data)


def _cases(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """The matrix holds on both databases (tests/conftest.py picks the one asked for)."""
    return request.param


@pytest.fixture
def world(settings):
    return pw.build(settings)


def test_every_endpoint_has_a_rule(app):
    missing = [r.endpoint for r in app.url_map.iter_rules() if not _has_rule(r.endpoint)]
    assert not missing, f"add these endpoints to webapp/permission_matrix.py RULES: {missing}"


def _has_rule(endpoint: str) -> bool:
    try:
        pm.requirement(endpoint)
    except LookupError:
        return False
    return True


def test_the_committed_matrix_is_up_to_date(app):
    if os.environ.get("UPDATE_PERMISSION_MATRIX"):  # make permission-matrix
        pm.DOC.write_text(pm.render(app), encoding="utf-8")
    assert pm.DOC.read_text(encoding="utf-8") == pm.render(app), (
        "docs/permission-matrix.md is stale: run `make permission-matrix`")


@pytest.mark.parametrize("role", pm.ROLES)
def test_every_endpoint_answers_each_role_as_the_matrix_says(app, world, role):
    caller = Caller(app, world, role)
    wrong, refused_writes = [], []
    cases = list(_cases(app))
    for rule, method in cases:
        want = pm.expected(rule.endpoint, role)
        if want == "denied" and method in WRITE:
            refused_writes.append((rule, method))
            continue
        got = _request(caller, rule, method, world)
        if not _agrees(want, got, rule.endpoint):
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}): want {want}, got {got}")
    before = pw.fingerprint()
    for rule, method in refused_writes:
        got = _request(caller, rule, method, world)
        if got != "denied":
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}): want denied, got {got}")
    assert pw.fingerprint() == before, "a refused request changed the database"
    assert not wrong, "\n".join(wrong)


# Endpoints that refuse a permitted caller because of the caller's state, not role.
STATEFUL = {"api.take_my_next_ticket": "403 unless the caller is an active routable agent"}


def _agrees(want: str, got: str, endpoint: str) -> bool:
    """A redirect after an allowed request is its answer (a saved form, a page moved on);
    the login pages answer with the login page whoever asks."""
    if want == "allowed" and got == "denied" and endpoint in STATEFUL:
        return True
    if want == "allowed" and got == "redirect":
        return True
    if want == "allowed" and got == "login" and pm.requirement(endpoint) == pm.PUBLIC:
        return True
    return want == got


def _request(caller: Caller, rule, method: str, world) -> str:
    got = classify(caller.call(method, _path(rule, world.ids)))
    if got == "login" and caller.role != "anonymous":
        caller.login()  # an allowed logout or password change ends the session: once more
        got = classify(caller.call(method, _path(rule, world.ids)))
    return got


OBJECT_PARAMS = ("ticket_id", "attachment_id", "comment_id")


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_objects_outside_ones_scope_are_not_found_by_guessing_ids(app, world, role):
    """王芳 (after-sales) and 张三 (a customer) ask for a logistics ticket of another
    customer, its comments and attachments, through every endpoint that takes one."""
    caller = Caller(app, world, role)
    ids = {**world.ids, **world.foreign}
    wrong, checked = [], 0
    before = pw.fingerprint()
    for rule, method in _cases(app):
        if not set(OBJECT_PARAMS) & set(rule.arguments):
            continue
        if pm.expected(rule.endpoint, role) != "allowed":
            continue
        r = caller.call(method, _PARAM.sub(lambda m: str(ids.get(m.group(1), 1)), rule.rule))
        missing = caller.call(method, _PARAM.sub(
            lambda m: str(999_999 if m.group(1) in OBJECT_PARAMS else ids.get(m.group(1), 1)),
            rule.rule))
        checked += 1
        # A foreign object answers as one that does not exist (a write whose payload is
        # refused first answers 400 for both); a read is 404.
        if (r.status_code != missing.status_code
                or (method == "GET" and r.status_code not in (403, 404))):
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}): {r.status_code}, "
                         f"missing id: {missing.status_code}")
    assert checked > 10
    assert pw.fingerprint() == before, "a refused request changed the database"
    assert not wrong, "\n".join(wrong)


def test_an_agent_sees_another_departments_customer_with_contacts_masked(app, world):
    b = Caller(app, world, "agent")
    html = b.call("GET", f"/agent/customers/{world.foreign['customer_id']}").get_data(as_text=True)
    assert "lisi@example.com" not in html and "l***@example.com" in html
    lead = Caller(app, world, "supervisor")
    html = lead.call("GET", f"/agent/customers/{world.foreign['customer_id']}").get_data(as_text=True)
    assert "lisi@example.com" in html  # customer.view_pii
