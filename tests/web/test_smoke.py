def test_login_page_renders_with_a_strict_content_security_policy(app):
    r = app.test_client().get("/login")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "object-src 'none'" in r.headers["Content-Security-Policy"]


def test_an_agent_logs_in_and_lands_on_the_queue(login):
    b = login("wangfang")
    r = b.get("/")
    assert r.status_code == 302 and "/agent" in r.headers["Location"]
