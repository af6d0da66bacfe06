"""REST API basics: bearer tokens, strict JSON input, JSON errors with stable codes."""
import json

import pytest

from appliance.models import Ticket
from tests.conftest import with_settings
from tests.web.apiclient import ApiClient, api, token_for  # noqa: F401
from webapp import create_app


def error_code(r) -> str:
    assert r.mimetype == "application/json", r.data[:200]
    return r.get_json()["error"]["code"]


# -- authentication ------------------------------------------------------------------------

def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(app, org):
    r = ApiClient(app, None).get("/tickets")
    assert r.status_code == 401 and error_code(r) == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer gd_not-a-real-token", "Basic YWRtaW46YWRtaW4=",
                                    "Bearer", "gd_token-without-scheme"])
def test_a_wrong_or_malformed_authorization_header_is_refused(app, org, header):
    r = ApiClient(app, None).get("/me", headers={"Authorization": header})
    assert r.status_code == 401 and error_code(r) == "unauthorized"
    assert "WWW-Authenticate" in r.headers


def test_a_token_identifies_its_user(api):
    r = api("wangfang").get("/me")
    assert r.status_code == 200
    assert r.get_json()["username"] == "wangfang" and r.get_json()["role"] == "agent"


def test_a_token_revoked_through_the_api_stops_working_at_once(api):
    client = api("wangfang")
    token_id = client.get("/tokens").get_json()["items"][0]["id"]
    assert client.delete(f"/tokens/{token_id}").status_code == 204
    r = client.get("/me")
    assert r.status_code == 401 and error_code(r) == "unauthorized"


def test_a_token_lists_its_users_tokens_without_their_secrets(api):
    client = api("wangfang")
    token_for("wangfang", "second")
    token_for("lilei", "someone else's")
    r = client.get("/tokens")
    rows = r.get_json()["items"]
    assert [t["name"] for t in rows] == ["test", "second"]
    assert client.token not in r.get_data(as_text=True)
    assert set(rows[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "revoked"}


def test_a_user_cannot_revoke_someone_elses_token(api):
    lilei = api("lilei")
    other_id = lilei.get("/tokens").get_json()["items"][0]["id"]
    r = api("wangfang").delete(f"/tokens/{other_id}")
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert lilei.get("/me").status_code == 200


def test_a_disabled_user_loses_api_access(api, org):
    from appliance.services import users
    client = api("wangfang")
    users.disable_user(org.admin, org.agent.user_id)
    assert client.get("/me").status_code == 401


def test_a_session_cookie_does_not_authenticate_the_api(login):
    browser = login("wangfang")  # a real UI session
    r = browser.get("/api/v1/me")
    assert r.status_code == 401 and error_code(r) == "unauthorized"


def test_writes_need_no_csrf_token_because_the_api_takes_no_cookies(api):
    r = api("wangfang").post("/tickets", json={"subject": "无需 CSRF"})
    assert r.status_code == 201


def test_the_openapi_document_is_public(app):
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.get_json()["openapi"] == "3.1.0"


# -- input ---------------------------------------------------------------------------------

def test_unknown_fields_are_refused_and_named_in_the_details(api):
    r = api("wangfang").post("/tickets", json={"subject": "x", "status": "closed",
                                              "requester_id": 1})
    assert r.status_code == 400 and error_code(r) == "validation_error"
    assert r.get_json()["error"]["details"]["fields"] == {"requester_id": "unknown field",
                                                          "status": "unknown field"}
    assert Ticket.select().count() == 0


def test_wrongly_typed_fields_are_refused_with_a_reason_per_field(api):
    r = api("wangfang").post("/tickets", json={"subject": 5, "priority": "high",
                                              "tags": "a,b", "department_id": True})
    fields = r.get_json()["error"]["details"]["fields"]
    assert r.status_code == 400
    assert set(fields) == {"subject", "priority", "tags", "department_id"}


def test_a_missing_required_field_is_named(api):
    r = api("wangfang").post("/tickets", json={"description": "no subject"})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["fields"] == {"subject": "required"}


def test_a_service_validation_error_keeps_its_field_details(api):
    r = api("wangfang").post("/tickets", json={"subject": "   "})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["fields"] == {
        "subject": "required"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=latin-1"])
def test_a_body_that_is_not_json_is_refused_with_415(api, content_type):
    r = api("wangfang").post("/tickets", data='{"subject": "x"}',
                             headers={"Content-Type": content_type})
    assert r.status_code == 415 and error_code(r) == "unsupported_media_type"


@pytest.mark.parametrize("body", [b'{"subject": "x"', b"", b'{"subject": NaN}', b"[" * 100_000,
                                  b'{"subject": "\\ud800"}', b'{"subject": "a\\u0000b"}'])
def test_malformed_json_is_refused_as_invalid_json(api, body):
    r = api("wangfang").post("/tickets", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_code(r) == "invalid_json"


def test_a_body_that_is_not_utf8_is_refused_as_invalid_json(api):
    r = api("wangfang").post("/tickets", data='{"subject": "打印机"}'.encode("gbk"),
                             headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_code(r) == "invalid_json"
    assert Ticket.select().count() == 0


def test_a_json_value_that_is_not_an_object_is_a_validation_error(api):
    r = api("wangfang").post("/tickets", json=["subject"])
    assert r.status_code == 400 and r.get_json()["error"]["details"]["fields"] == {
        "body": "must be a JSON object"}


def test_a_body_over_the_request_limit_is_refused_with_413(settings, org):
    small = create_app(with_settings(settings, max_request_bytes=2048))
    client = ApiClient(small, token_for("wangfang"))
    r = client.post("/tickets", json={"subject": "x", "description": "长" * 5000})
    assert r.status_code == 413 and error_code(r) == "payload_too_large"
    assert Ticket.select().count() == 0


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "department_id=99999999999",
                                   "status=nonsense", "created_from=yesterday", "view=everything",
                                   "assignee_id=someone", "priority=7", "tag=a%00b"])
def test_bad_query_parameters_are_400_naming_the_parameter(api, query):
    r = api("wangfang").get("/tickets?" + query)
    assert r.status_code == 400 and error_code(r) == "validation_error"
    assert query.split("=")[0] in r.get_json()["error"]["details"]["fields"]


# -- errors and output ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/tickets/999", "/customers/999", "/users/999",
                                  "/attachments/999", "/tickets/99999999999999999999999",
                                  "/no-such-thing"])
def test_unknown_ids_and_paths_are_json_404s(api, path):
    r = api("admin").get(path)
    assert r.status_code == 404 and error_code(r) == "not_found"


def test_a_wrong_method_is_a_json_405_that_names_the_allowed_methods(api):
    r = api("admin").open("PUT", "/tickets")
    assert r.status_code == 405 and error_code(r) == "method_not_allowed"
    assert "POST" in r.headers["Allow"] and "GET" in r.headers["Allow"]


def test_datetimes_are_iso_8601_utc_with_a_z(api):
    body = api("wangfang").post("/tickets", json={"subject": "时间"}).get_json()
    assert body["summary"]["created_at"].endswith("Z")
    assert "T" in body["summary"]["created_at"]


def test_script_tags_are_stored_as_text_and_returned_as_inert_json_strings(api):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client = api("wangfang")
    created = client.post("/tickets", json={"subject": evil, "description": evil})
    r = client.get(f"/tickets/{created.get_json()['summary']['id']}")
    assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in r.data and b"\\u003cscript\\u003e" in r.data
    body = json.loads(r.data)
    assert body["summary"]["subject"] == evil and body["description"] == evil


def test_api_answers_are_not_cached(api):
    assert api("wangfang").get("/me").headers["Cache-Control"] == "no-store"
