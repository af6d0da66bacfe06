"""The security administrator's policy page /admin/security-policy (decision 0042): only
`security.policy` opens it, bad values come back as 400 with the field named, saved
values are in force at once (a login locks after the new threshold)."""
from __future__ import annotations

from appliance.models import SecurityPolicy, User
from tests.web.conftest import Browser


def test_only_the_security_administrator_opens_the_page(people):
    html = people("sec").get("/admin/security-policy/").get_data(as_text=True)
    assert 'id="security-policy-form"' in html and 'id="policy-lockout_threshold"' in html
    assert 'id="nav-security-policy"' in html
    for who in ("admin", "auditor", "wangfang"):
        b = people(who)
        assert b.get("/admin/security-policy/").status_code == 403, who
        assert b.post("/admin/security-policy/", data={"lockout_threshold": "3"}
                      ).status_code == 403, who
    assert SecurityPolicy.select().count() == 0


def test_a_bad_value_is_refused_with_its_field_and_nothing_changes(people):
    sec = people("sec")
    r = sec.post("/admin/security-policy/", data={"lockout_threshold": "50",
                                                  "session_idle_minutes": "20"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="err-lockout_threshold"' in html and "3 to 10" in html
    assert 'value="20"' in html                    # what was typed stays in the form
    assert SecurityPolicy.select().count() == 0


def test_a_saved_threshold_is_in_force_for_the_next_logins(people, app):
    sec = people("sec")
    r = sec.post("/admin/security-policy/", data={"lockout_threshold": "3"})
    assert r.status_code == 302
    page = sec.get("/admin/security-policy/").get_data(as_text=True)
    assert "set here" in page
    b = Browser(app)
    for _ in range(3):
        assert b.login("wangfang", "wrong-password-123").status_code in (200, 401)
    assert User.get(User.username == "wangfang").locked_until is not None
