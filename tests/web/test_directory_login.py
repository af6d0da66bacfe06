"""The login form with enterprise directory users (a real slapd: tests/ldap_server.py)."""
import pytest

from appliance.models import User
from appliance.rules.access import SYSTEM
from appliance.services import users
from tests.domain.test_directory import ALICE_PW, ldap_settings
from tests.ldap_server import running_slapd
from tests.web.conftest import Browser
from webapp import create_app


@pytest.fixture
def site(settings, tmp_path):
    with running_slapd(tmp_path / "slapd", groups=("agents", "leads", "admins", "staff-as",
                                                   "staff-log")) as server:
        server.add_user("alice", ALICE_PW, cn="Alice Li", groups=("agents",))
        _, admin_pw = users.create_user(SYSTEM, "admin", "Admin", "admin")
        s = ldap_settings(settings, server)
        app = create_app(s)
        app.config.update(TESTING=True)
        yield app, server, admin_pw


def test_a_directory_user_logs_in_through_the_form_and_a_wrong_password_reads_as_any_other(site):
    app, server, admin_pw = site
    refused = Browser(app).login("alice", "wrong-password")
    local = Browser(app).login("nobody-at-all", "wrong-password")
    assert refused.status_code == local.status_code == 401
    for r in (refused, local):
        assert "Invalid user name or password." in r.get_data(as_text=True)
    b = Browser(app)
    r = b.login("alice", ALICE_PW)
    assert r.status_code == 302
    assert b.get("/").status_code in (200, 302)
    assert User.get(User.username == "alice").last_login_at is not None


def test_with_the_directory_down_the_local_admin_still_logs_in(site):
    app, server, admin_pw = site
    server.stop()
    assert Browser(app).login("alice", ALICE_PW).status_code == 401
    assert Browser(app).login("admin", admin_pw).status_code == 302

