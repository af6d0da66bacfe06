def test_login_page_renders_with_a_strict_content_security_policy(app):
    r = app.test_client().get("/login")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "object-src 'none'" in r.headers["Content-Security-Policy"]


def test_an_agent_logs_in_and_lands_on_the_queue(login):
    b = login("wangfang")
    r = b.get("/")
    assert r.status_code == 302 and "/agent" in r.headers["Location"]


def test_the_ui_language_follows_the_browser(app):
    client = app.test_client()
    zh = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    en = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "登录" in zh
    assert '<html lang="en">' in en and "Log in" in en


def test_a_user_switches_language_and_it_sticks_to_their_account(login):
    b = login("wangfang")
    r = b.post("/lang", {"lang": "zh_CN", "next": "/agent/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/agent/")
    page = b.get("/agent/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    from appliance.models import User
    assert User.get(User.username == "wangfang").locale == "zh_CN"
