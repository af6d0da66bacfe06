"""Health and version endpoints for load balancers and monitoring."""
from appliance import __version__
from tests.conftest import with_settings
from webapp import create_app


def test_healthz_reports_database_queue_and_index(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    assert r.json["checks"] == {"database": True, "queue": True, "index": True}
    assert r.json["failed_jobs"] == 0


def test_healthz_fails_with_503_when_the_queue_is_unreachable(settings):
    unreachable = with_settings(settings, queue_url="redis://127.0.0.1:1/0")  # nothing listens
    r = create_app(unreachable).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["checks"] == {"database": True, "queue": False, "index": True}


def test_version_names_the_release(app):
    assert app.test_client().get("/version").json == {"name": "gongdan", "version": __version__}
