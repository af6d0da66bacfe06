"""Admin process pages: the list, the designer and its JSON calls (validate, save with
optimistic concurrency, publish, dry-run), version history with a diff, import with the
paths of problems, export round trip, publish/retire. On SQLite and PostgreSQL."""
from __future__ import annotations

import copy
import io
import json
import re

import pytest

from appliance.services import process_defs, users
from tests.factories import actor

BASE = "/admin/processes"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def admin(login):
    return login("admin")


def flow(key: str = "repair_check", label: str = "诊断 Diagnose") -> dict:
    """start → task (after-sales) → approval (a supervisor) → end ok / end rejected."""
    return {
        "format": 1, "key": key, "name": {"zh": "维修检查", "en": "Repair check"}, "description": "",
        "nodes": [
            {"id": "start", "type": "start", "label": "", "x": 80, "y": 160},
            {"id": "diagnose", "type": "task", "label": label, "x": 300, "y": 160,
             "assignee": {"kind": "department", "value": "AS"},
             "form": [{"field": "priority", "required": True, "default": None, "shown": True}]},
            {"id": "approve", "type": "approval", "label": "主管审批", "x": 520, "y": 160,
             "approvers": {"kind": "role", "value": "supervisor"}, "quorum": {"mode": "any"}},
            {"id": "end_ok", "type": "end", "label": "", "outcome": "resolved", "x": 740, "y": 100},
            {"id": "end_no", "type": "end", "label": "", "outcome": "rejected", "x": 740, "y": 240},
        ],
        "edges": [
            {"id": "e1", "from": "start", "to": "diagnose"},
            {"id": "e2", "from": "diagnose", "to": "approve"},
            {"id": "e3", "from": "approve", "to": "end_ok", "on": "approved", "order": 0},
            {"id": "e4", "from": "approve", "to": "end_no", "on": "rejected", "order": 1},
        ],
        "start_rules": [],
    }


def broken(key: str = "repair_check") -> dict:
    """The same flow, but the approval names no approvers (nodes[2].approvers)."""
    doc = flow(key)
    doc["nodes"][2]["approvers"] = {"kind": "role", "value": ""}
    return doc


def post_json(b, path: str, body: dict):
    token = b.csrf(BASE + "/import")
    return b.client.post(path, data=json.dumps(body), content_type="application/json",
                         headers={"X-CSRFToken": token, "Accept": "application/json"})


def save(b, doc: dict, expected=None, base=None):
    return post_json(b, BASE + "/designer/save",
                     {"document": doc, "expected_version": expected, "base_version": base})


def config_of(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="designer-config">(.*?)</script>', html, re.S)
    assert m, html[:2000]
    return json.loads(m.group(1))


# --- access -----------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["wangfang", "lead", "zhangsan"])
def test_everyone_but_an_admin_is_refused_every_process_page_and_call(login, org, username):
    process_defs.save_draft(org.admin, "repair_check", flow())
    b = login(username)
    for path in (BASE + "/", BASE + "/new", BASE + "/import", BASE + "/repair_check/edit",
                 BASE + "/repair_check/history", BASE + "/repair_check/1/export"):
        assert b.get(path).status_code == 403, path
    for path in (BASE + "/import", BASE + "/repair_check/1/publish", BASE + "/repair_check/1/retire"):
        assert b.post(path, {"document": json.dumps(flow("other"))}).status_code == 403, path
    for path in ("validate", "save", "publish", "dry-run"):
        r = post_json(b, f"{BASE}/designer/{path}", {"document": flow("other"), "key": "repair_check",
                                                     "version": 1, "fields": {}})
        assert r.status_code == 403, path
    assert [d.key for d in process_defs.list_definitions(org.admin)] == ["repair_check"]
    assert process_defs.get_definition(org.admin, "repair_check").status == "draft"


def test_anonymous_visitors_are_sent_to_log_in(browser, org):
    r = browser().get(BASE + "/new")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- list and designer ------------------------------------------------------------------

def test_the_list_shows_each_process_with_its_versions_and_the_nav_links_to_it(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    process_defs.publish(org.admin, "repair_check", 1)
    process_defs.save_draft(org.admin, "repair_check", flow(label="复检"))
    html = admin.get(BASE + "/").get_data(as_text=True)
    assert 'id="nav-processes"' in html
    row = re.search(r'<tr data-key="repair_check">(.*?)</tr>', html, re.S).group(1)
    assert "维修检查" in row and "v2" in row and "Draft" in row and "published: v1" in row
    assert f'{BASE}/repair_check/1/export' in row  # export offers the published version


def test_the_designer_page_carries_its_configuration_as_json_and_loads_modules(admin, org):
    r = admin.get(BASE + "/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    assert '<script type="module" src="/static/designer/main.js"></script>' in html
    assert "<script>" not in html  # nothing inline
    cfg = config_of(html)
    assert cfg["key"] is None and cfg["keyLocked"] is False
    assert [n["type"] for n in cfg["document"]["nodes"]] == ["start", "end"]
    assert {d["value"] for d in cfg["org"]["departments"]} == {"AS", "LOG"}
    assert {"admin", "wangfang", "lilei", "lead"} <= {u["value"] for u in cfg["org"]["users"]}
    assert "zhangsan" not in {u["value"] for u in cfg["org"]["users"]}  # customers are no approvers
    assert {f["value"] for f in cfg["fields"]} >= {"priority", "category", "status"}
    assert "<" in cfg["typeOperators"]["number"] and "<" not in cfg["typeOperators"]["text"]
    assert cfg["strings"]["type_task"] == "Task"
    assert len(re.findall(r'data-type="(\w+)"', html)) == 8


def test_the_designer_opens_the_latest_version_unless_one_is_asked_for(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    process_defs.publish(org.admin, "repair_check", 1)
    process_defs.save_draft(org.admin, "repair_check", flow(label="复检"))
    cfg = config_of(admin.get(BASE + "/repair_check/edit").get_data(as_text=True))
    assert (cfg["version"], cfg["status"], cfg["keyLocked"]) == (2, "draft", True)
    assert cfg["document"]["nodes"][1]["label"] == "复检"
    cfg = config_of(admin.get(BASE + "/repair_check/edit?version=1").get_data(as_text=True))
    assert (cfg["version"], cfg["status"]) == (1, "published")
    assert admin.get(BASE + "/repair_check/edit?version=9").status_code == 404
    assert admin.get(BASE + "/repair_check/edit?version=x").status_code == 404
    assert admin.get(BASE + "/nope/edit").status_code == 404


# --- validate and save --------------------------------------------------------------------

def test_validation_returns_each_problem_with_its_path(admin, org):
    body = post_json(admin, BASE + "/designer/validate", {"document": broken()}).get_json()
    assert [(p["path"], p["code"]) for p in body["problems"]] == \
        [("nodes[2].approvers", "approval_without_approvers")]
    assert body["problems"][0]["message"] == "an approval needs approvers"
    assert post_json(admin, BASE + "/designer/validate", {"document": flow()}).get_json() == \
        {"problems": []}
    doc = flow()
    doc["edges"][1]["to"] = "ghost"
    codes = {(p["path"], p["code"]) for p in post_json(
        admin, BASE + "/designer/validate", {"document": doc}).get_json()["problems"]}
    assert ("edges[1].to", "dangling_edge") in codes


def test_validation_messages_follow_the_admins_language(admin, org):
    users.set_locale(actor("admin"), "zh_CN")
    doc = flow()
    del doc["nodes"][1]["assignee"]
    body = post_json(admin, BASE + "/designer/validate", {"document": doc}).get_json()
    assert {"path": "nodes[1].assignee", "code": "missing", "message": "不能为空", "params": {}} \
        in body["problems"]


def test_the_json_calls_refuse_anything_but_a_json_object(admin, org):
    token = admin.csrf(BASE + "/import")
    r = admin.client.post(BASE + "/designer/validate", data={"document": "x"},
                          headers={"X-CSRFToken": token})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"
    r = post_json(admin, BASE + "/designer/validate", {"document": []})
    assert r.status_code == 400 and r.get_json()["error"]["details"]["fields"] == \
        {"document": "must be an object"}
    r = post_json(admin, BASE + "/designer/save", {"document": flow(), "expected_version": "1"})
    assert r.status_code == 400 and "expected_version" in r.get_json()["error"]["details"]["fields"]
    r = admin.client.post(BASE + "/designer/validate", data=json.dumps({"document": flow()}),
                          content_type="application/json")
    assert r.status_code == 400  # no CSRF token
    assert process_defs.list_definitions(org.admin) == []


def test_saving_a_draft_checks_the_revision_it_was_read_at(admin, org):
    r = save(admin, flow())
    assert r.status_code == 200, r.get_data(as_text=True)
    first = r.get_json()
    assert (first["key"], first["version"], first["status"]) == ("repair_check", 1, "draft")
    assert first["edit_url"] == f"{BASE}/repair_check/edit?version=1"
    second = save(admin, flow(label="A"), expected=first["revision"], base=1).get_json()
    assert second["version"] == 1 and second["revision"] == first["revision"] + 1
    stale = save(admin, flow(label="B"), expected=first["revision"], base=1)
    assert stale.status_code == 409
    err = stale.get_json()["error"]
    assert err["code"] == "conflict" and "Someone else saved" in err["message"]
    assert err["details"]["edit_url"] == f"{BASE}/repair_check/edit"
    assert process_defs.get_definition(org.admin, "repair_check").document["nodes"][1]["label"] == "A"


def test_a_new_process_cannot_take_over_an_existing_key(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow(label="theirs"))
    r = save(admin, flow(label="mine"))
    assert r.status_code == 409
    assert process_defs.get_definition(org.admin, "repair_check").document["nodes"][1]["label"] == "theirs"
    r = save(admin, {**flow(), "key": "Bad Key"})
    assert r.status_code == 400 and "key" in r.get_json()["error"]["details"]["fields"]


def test_a_draft_started_meanwhile_is_not_overwritten_from_an_older_version(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    process_defs.publish(org.admin, "repair_check", 1)
    process_defs.save_draft(org.admin, "repair_check", flow(label="someone else's draft"))
    r = save(admin, flow(label="mine"), expected=None, base=1)  # the page opened v1
    assert r.status_code == 409
    d = process_defs.get_definition(org.admin, "repair_check")
    assert (d.version, d.document["nodes"][1]["label"]) == (2, "someone else's draft")


# --- publish --------------------------------------------------------------------------------

def test_publishing_is_refused_while_the_draft_has_problems(admin, org):
    process_defs.save_draft(org.admin, "repair_check", broken())
    r = post_json(admin, BASE + "/designer/publish", {"key": "repair_check", "version": 1})
    assert r.status_code == 400
    problems = r.get_json()["error"]["details"]["problems"]
    assert [(p["path"], p["code"]) for p in problems] == \
        [("nodes[2].approvers", "approval_without_approvers")]
    r = admin.post(f"{BASE}/repair_check/1/publish", csrf_from=BASE + "/repair_check/history")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="publish-problems"' in html
    assert "<code>nodes[2].approvers</code>" in html and "an approval needs approvers" in html
    assert process_defs.get_definition(org.admin, "repair_check").status == "draft"


def test_publishing_from_the_designer_and_retiring_from_the_history(admin, org):
    first = save(admin, flow()).get_json()
    r = post_json(admin, BASE + "/designer/publish", {"key": "repair_check", "version": first["version"]})
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    again = post_json(admin, BASE + "/designer/publish", {"key": "repair_check", "version": 1})
    assert again.status_code == 409
    assert again.get_json()["error"]["message"] == "only a draft can be published"
    bad = post_json(admin, BASE + "/designer/publish", {"key": "repair_check", "version": "1"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["fields"] == \
        {"version": "must be an integer"}
    r = admin.post(f"{BASE}/repair_check/1/retire", csrf_from=BASE + "/repair_check/history")
    assert r.status_code == 302
    assert process_defs.get_definition(org.admin, "repair_check", 1).status == "retired"
    html = admin.get(BASE + "/repair_check/history").get_data(as_text=True)
    assert "is retired" in html
    r = admin.post(f"{BASE}/repair_check/1/retire", csrf_from=BASE + "/repair_check/history")
    assert r.status_code == 302  # already retired: a message, nothing changes
    assert "only a published version can be retired" in admin.get(BASE + "/").get_data(as_text=True)


def test_publishing_with_the_history_form(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    r = admin.post(f"{BASE}/repair_check/1/publish", csrf_from=BASE + "/repair_check/history")
    assert r.status_code == 302 and r.headers["Location"].endswith("/repair_check/history")
    assert process_defs.get_definition(org.admin, "repair_check").status == "published"


# --- export, import ---------------------------------------------------------------------------

def test_an_exported_definition_imports_back_unchanged(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    process_defs.publish(org.admin, "repair_check", 1)
    r = admin.get(BASE + "/repair_check/1/export")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"] == 'attachment; filename="repair_check-v1.json"'
    exported = r.get_data()
    assert json.loads(exported) == flow()
    r = admin.post(BASE + "/import", {"file": (io.BytesIO(exported), "repair_check-v1.json")},
                   csrf_from=BASE + "/import", content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"].endswith("/repair_check/edit?version=2")
    d = process_defs.get_definition(org.admin, "repair_check")
    assert (d.version, d.status, d.document) == (2, "draft", flow())
    html = admin.get(BASE + "/repair_check/history?a=1&b=2").get_data(as_text=True)
    assert "No differences." in html
    assert admin.get(BASE + "/repair_check/3/export").status_code == 404


@pytest.mark.parametrize("text, expected", [
    ('{"format": 1, "key": ', "Not valid JSON"),
    ("[1, 2]", "must hold one JSON object"),
    ("", "Choose a JSON file or paste a definition"),
])
def test_an_import_that_is_not_a_json_object_is_refused_with_where_it_went_wrong(admin, org, text,
                                                                                  expected):
    r = admin.post(BASE + "/import", {"document": text}, csrf_from=BASE + "/import")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and expected in html
    if text.startswith("{"):
        assert "line 1, column 22" in html
    assert process_defs.list_definitions(org.admin) == []


def test_an_invalid_definition_is_refused_with_the_path_of_each_problem(admin, org):
    doc = broken("imported_one")
    doc["edges"].append({"id": "e9", "from": "approve", "to": "nowhere", "on": "approved"})
    r = admin.post(BASE + "/import", {"file": (io.BytesIO(json.dumps(doc).encode()), "x.json")},
                   csrf_from=BASE + "/import", content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="import-problems"' in html
    paths = re.findall(r"<td><code>([^<]+)</code></td>", html)
    assert "nodes[2].approvers" in paths and "edges[4].to" in paths
    assert "there is no node nowhere" in html
    assert process_defs.list_definitions(org.admin) == []


def test_an_import_over_an_existing_draft_is_refused(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    r = admin.post(BASE + "/import", {"document": json.dumps(flow(label="other"))},
                   csrf_from=BASE + "/import")
    assert r.status_code == 409
    assert process_defs.get_definition(org.admin, "repair_check").document == flow()


# --- history and diff -----------------------------------------------------------------------

def test_the_history_shows_a_readable_diff_between_any_two_versions(admin, org):
    process_defs.save_draft(org.admin, "repair_check", flow())
    process_defs.publish(org.admin, "repair_check", 1)
    changed = copy.deepcopy(flow(label="复检 Recheck"))
    changed["nodes"].append({"id": "notify", "type": "action", "action": "add_note",
                             "params": {"text": "ok"}, "x": 600, "y": 300})
    changed["nodes"][0]["x"] = 40
    changed["edges"][2]["condition"] = {"field": "priority", "op": "<", "value": 3}
    process_defs.save_draft(org.admin, "repair_check", changed)
    html = admin.get(BASE + "/repair_check/history").get_data(as_text=True)
    assert 'id="publish-v2"' in html and 'id="retire-v1"' in html
    diff = re.search(r'<ul class="diff" id="diff"[^>]*>(.*?)</ul>', html, re.S).group(1)
    node = re.search(r'<li class="changed" data-kind="node" data-id="diagnose">(.*?)</li>', diff, re.S)
    assert node and "诊断 Diagnose" in node.group(1) and "复检 Recheck" in node.group(1)
    assert re.search(r'<li class="added" data-kind="node" data-id="notify">', diff)
    assert re.search(r'<li class="moved" data-kind="node" data-id="start">', diff)
    edge = re.search(r'<li class="changed" data-kind="edge" data-id="e3">(.*?)</li>', diff, re.S)
    assert edge and "priority &lt; 3" in edge.group(1)
    back = admin.get(BASE + "/repair_check/history?a=2&b=1").get_data(as_text=True)
    assert re.search(r'<li class="removed" data-kind="node" data-id="notify">', back)
    assert admin.get(BASE + "/repair_check/history?a=7").status_code == 404
    assert admin.get(BASE + "/nope/history").status_code == 404


# --- dry-run ------------------------------------------------------------------------------------

def test_a_dry_run_walks_the_unsaved_document_with_the_given_outcomes(admin, org):
    doc = flow()
    r = post_json(admin, BASE + "/designer/dry-run",
                  {"document": doc, "fields": {"priority": 2}, "outcomes": {"approve": "rejected"}})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert [s["node"] for s in body["steps"]] == ["start", "diagnose", "approve", "end_no"]
    assert [s["edge"] for s in body["steps"]] == [None, "e1", "e2", "e4"]
    assert body["status"] == "ended"
    assert body["result"] == "The ticket ends at end_no (Rejected) after 4 steps."
    assert body["steps"][2]["text"] == "3. Approval: 主管审批 — rejected → end_no"
    body = post_json(admin, BASE + "/designer/dry-run", {"document": doc, "fields": {}}).get_json()
    assert [s["node"] for s in body["steps"]][-1] == "end_ok"
    assert body["steps"][2]["text"] == "3. Approval: 主管审批 — approved (assumed: no outcome given) → end_ok"
    r = post_json(admin, BASE + "/designer/dry-run", {"document": doc, "fields": [1]})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["fields"] == {"fields": "must be an object"}
    assert process_defs.list_definitions(org.admin) == []  # a dry-run stores nothing
