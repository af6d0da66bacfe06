"""The gate in front of ordinary requests (webapp/request_gate.py): the extra threads
gunicorn gets for live streams never run more than web_threads requests at once."""
import threading

from tests.conftest import with_settings
from webapp import create_app, request_gate


def test_requests_beyond_web_threads_wait_for_a_place_and_static_files_do_not(
        settings, monkeypatch):
    app = create_app(with_settings(settings, web_threads=1))
    entered, release = threading.Event(), threading.Event()

    def slow():
        entered.set()
        release.wait(10)
        return "done"
    app.add_url_rule("/slow-for-test", "slow_for_test", slow)
    monkeypatch.setattr(request_gate, "WAIT_SECONDS", 0.3)
    holder = threading.Thread(target=lambda: app.test_client().get("/slow-for-test"))
    holder.start()
    assert entered.wait(5)
    try:
        assert app.test_client().get("/healthz").status_code == 503
        api = app.test_client().get("/api/v1/tickets")
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.get_json()["error"]["code"] == "service_unavailable"
        assert app.test_client().get("/static/app.css").status_code == 200
    finally:
        release.set()
        holder.join(5)
    assert app.test_client().get("/healthz").status_code == 200  # the place was given back
