"""AI triage in the web UI: the ticket panel, accept / undo / done, the triage queue, the
timeline, the "AI unavailable" banner and /healthz, and the admin pages.

Tickets are triaged by the real services (fast path and enrichment) with the fake
classifier back-end and model of tests/web/aifakes.py.
"""
from __future__ import annotations

import re

import pytest

from appliance import registry
from appliance.models import Ticket
from appliance.ports import ModelInfo
from appliance.services import ai_admin, tickets, triage
from tests.web.aifakes import ai, drain, fresh_model_status  # noqa: F401

CONFIDENT = "printer jammed 打印机"      # 90% after-sales: applied
UNCLEAR = "something odd happened"        # 50/50: waits for a person


def html(r) -> str:
    return r.get_data(as_text=True)


def panel(page: str) -> str:
    m = re.search(r'<section class="panel ai-panel".*?</section>', page, re.S)
    assert m, page[:3000]
    return m.group(0)


@pytest.fixture
def agent(login):
    return login("wangfang")


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture
def model_available(monkeypatch):
    info = ModelInfo("qwen-test", "cd" * 32, "/models/q.gguf", True, "")
    monkeypatch.setattr(registry, "model_status", lambda settings: info)


# --- the ticket panel ---------------------------------------------------------------------

def test_the_panel_shows_applied_suggestions_with_confidence_and_what_ai_found(agent, ai, org):
    t = ai(CONFIDENT, "my <img src=x onerror=alert(1)> order <b>SO-1</b>")
    box = panel(html(agent.get(f"/agent/tickets/{t}")))
    assert 'id="suggestion-department"' in box and "售后" in box and "90%" in box
    assert "applied" in box and 'id="accept-department"' not in box
    assert "Language" in box and "Sentiment" in box
    assert "classifier cold:1" in box and "Classifiers" in box and "fake-0.5b" in box


def test_model_text_is_escaped_everywhere_on_the_page(agent, ai, org):
    t = ai(CONFIDENT, "my <img src=x onerror=alert(1)> order <b>SO-1</b>")
    row = Ticket.get_by_id(t)
    assert "<script>" in row.summary and row.entities["product"].startswith("<img")
    page = html(agent.get(f"/agent/tickets/{t}"))
    assert "&lt;script&gt;alert(" in panel(page) and "&lt;img src=x" in panel(page)
    assert "<script>alert(" not in page and "<img src=x" not in page and "<b>SO-1" not in page


def test_a_pending_ticket_says_so(agent, ai, org):
    t = ai(CONFIDENT, run=False)
    assert 'id="ai-pending"' in panel(html(agent.get(f"/agent/tickets/{t}")))


def test_a_ticket_in_review_offers_accept_and_done(agent, ai, org):
    t = ai(UNCLEAR)
    box = panel(html(agent.get(f"/agent/tickets/{t}")))
    assert 'id="accept-department"' in box and 'id="finish-triage"' in box
    assert "needs review" in box and "50%" in box


def test_accept_applies_the_suggestion_as_the_agents_change(agent, ai, org):
    t = ai(UNCLEAR)
    suggested = next(s for s in triage.triage_view(org.agent, t).suggestions
                     if s.field == "department")
    r = agent.post(f"/agent/tickets/{t}/triage/accept",
                   {"field": "department", "expected_version": Ticket.get_by_id(t).version})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/agent/tickets/{t}#ai-triage")
    assert Ticket.get_by_id(t).department_id == int(suggested.value)
    assert "The suggested Department was applied." in html(agent.get(f"/agent/tickets/{t}"))


def test_accept_with_a_stale_version_changes_nothing_and_says_why(agent, ai, org):
    t = ai(UNCLEAR)
    r = agent.post(f"/agent/tickets/{t}/triage/accept", {"field": "department",
                                                         "expected_version": 99})
    assert r.status_code == 302 and Ticket.get_by_id(t).department_id is None
    assert "Nothing was changed" in html(agent.get(f"/agent/tickets/{t}"))


def test_done_triaging_takes_the_ticket_out_of_the_queue(agent, ai, org):
    t = ai(UNCLEAR)
    r = agent.post(f"/agent/tickets/{t}/triage/done")
    assert r.status_code == 302 and r.headers["Location"].endswith("/agent/triage")
    assert Ticket.get_by_id(t).triage_state == "done"
    page = html(agent.get("/agent/triage"))
    assert "Triage of this ticket is done." in page and Ticket.get_by_id(t).number not in page


def test_undo_puts_back_everything_ai_changed_in_one_click(agent, ai, org):
    t = ai(CONFIDENT, "my <img src=x onerror=alert(1)> order <b>SO-1</b>")
    assert Ticket.get_by_id(t).department_id == org.after_sales
    page = html(agent.get(f"/agent/tickets/{t}"))
    form = re.search(r'<form method="post" action="/agent/tickets/\d+/triage/undo">.*?</form>',
                     page, re.S).group(0)
    run_ids = re.findall(r'name="run_id" value="(\d+)"', form)
    assert len(run_ids) == 2  # the fast path and the enrichment
    r = agent.post(f"/agent/tickets/{t}/triage/undo", {"run_id": run_ids})
    assert r.status_code == 302
    row = Ticket.get_by_id(t)
    assert row.department_id is None and row.summary == "" and row.triage_state == "review"
    page = html(agent.get(f"/agent/tickets/{t}"))
    flash = re.search(r'class="flash success"[^>]*>([^<]*)', page).group(1)
    assert "AI changes were undone:" in flash and "Department" in flash and "Summary" in flash
    assert 'id="undo-ai"' not in page
    assert "undid the AI change of" in page


def test_triage_actions_need_a_csrf_token(agent, ai, org):
    t = ai(CONFIDENT)
    for action in ("undo", "done", "accept"):
        r = agent.client.post(f"/agent/tickets/{t}/triage/{action}", data={"field": "department"})
        assert r.status_code == 400, action
    assert Ticket.get_by_id(t).department_id == org.after_sales


def test_a_customer_cannot_use_the_triage_actions(login, ai, org):
    t = ai(CONFIDENT)
    customer = login("zhangsan")
    assert customer.post(f"/agent/tickets/{t}/triage/done").status_code == 403
    assert customer.get("/agent/triage").status_code == 403


# --- timeline -------------------------------------------------------------------------------

def test_the_timeline_names_ai_triage_with_confidence_and_versions(agent, ai, org):
    t = ai(CONFIDENT)
    page = html(agent.get(f"/agent/tickets/{t}"))
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S).group(0)
    entry = re.search(r'<li class="event kind-ai_triage[^"]*">.*?</li>', timeline, re.S).group(0)
    assert "AI triage" in entry and "confidence" in entry and "classifier cold:1" in entry
    department = [e for e in re.findall(r'<li class="event kind-ai_triage.*?</li>', timeline, re.S)
                  if "Department" in e]
    assert department and "售后" in department[0] and "System" not in timeline


# --- the triage queue -----------------------------------------------------------------------

def test_the_triage_queue_lists_review_tickets_with_their_top_suggestions(agent, ai, org):
    waiting, routed = ai(UNCLEAR), ai(CONFIDENT)
    page = html(agent.get("/agent/triage"))
    table = re.search(r'<table[^>]*id="triage-queue".*?</table>', page, re.S).group(0)
    assert Ticket.get_by_id(waiting).number in table
    assert Ticket.get_by_id(routed).number not in table
    assert "Department" in table and "50%" in table
    link = re.search(r'<a href="/agent/triage" id="view-triage"[^>]*>.*?</a>', page, re.S).group(0)
    assert 'aria-current="page"' in link and ">1<" in link


def test_the_queue_sidebar_offers_needs_triage_with_a_count(agent, ai, org):
    ai(UNCLEAR)
    page = html(agent.get("/agent/"))
    link = re.search(r'id="view-triage"[^>]*>.*?</a>', page, re.S).group(0)
    assert "Needs triage" in link and ">1<" in link


def test_triage_pages_carry_no_inline_script_or_style(agent, ai, org):
    t = ai(UNCLEAR)
    for path in ("/agent/triage", f"/agent/tickets/{t}"):
        page = html(agent.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"\s(style|on[a-z]+)=", page), path


# --- model availability -------------------------------------------------------------------

def test_agents_see_a_banner_when_the_model_is_missing(agent, org):
    page = html(agent.get("/agent/"))
    assert 'id="ai-model-unavailable"' in page and "AI unavailable:" in page


def test_no_banner_when_the_model_is_available(agent, org, model_available):
    assert 'id="ai-model-unavailable"' not in html(agent.get("/agent/"))


def test_the_model_status_is_cached_for_a_while(agent, org, monkeypatch):
    calls = []
    info = ModelInfo("q", "", "", False, "file missing")
    monkeypatch.setattr(registry, "model_status", lambda s: calls.append(1) or info)
    agent.get("/agent/")
    agent.get("/agent/")
    assert len(calls) == 1


def test_healthz_reports_ai_and_stays_200_when_the_model_is_missing(app, org):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "ok"
    assert r.json["ai"]["available"] is False and r.json["ai"]["reason"]
    assert set(r.json["ai"]) == {"available", "model", "reason"}


def test_healthz_survives_a_broken_model_registry(app, org, monkeypatch):
    def broken(settings):
        raise OSError("registry.json unreadable")
    monkeypatch.setattr(registry, "model_status", broken)
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json["ai"]["available"] is False
    assert "registry.json unreadable" in r.json["ai"]["reason"]


def test_healthz_names_an_available_model(app, org, model_available):
    assert app.test_client().get("/healthz").json["ai"] == {
        "available": True, "model": "qwen-test", "reason": ""}


# --- admin pages ----------------------------------------------------------------------------

ADMIN_AI_PAGES = ["/admin/ai/", "/admin/ai/classifiers", "/admin/ai/profiles",
                  "/admin/ai/profiles?field=category", "/admin/ai/rules"]
ADMIN_AI_POSTS = ["/admin/ai/classifiers/train", "/admin/ai/classifiers/activate",
                  "/admin/ai/profiles", "/admin/ai/rules", "/admin/ai/rules/1",
                  "/admin/ai/rules/1/active", "/admin/ai/rules/1/move",
                  "/admin/ai/rules/1/delete", "/admin/ai/profiles/seed", "/admin/ai/refresh"]


@pytest.mark.parametrize("username", ["wangfang", "lead"])
def test_ai_admin_pages_are_403_for_everyone_but_admins(login, org, username):
    seeded = ai_admin.seed_default_rules()
    b = login(username)
    for path in ADMIN_AI_PAGES:
        assert b.get(path).status_code == 403, path
    for path in ADMIN_AI_POSTS:
        assert b.post(path, {"name": "x", "condition": "keywords", "keywords": "x",
                             "priority": "1"}).status_code == 403, path
    assert len(ai_admin.list_triage_rules(org.admin)) == seeded > 0


def test_an_admin_sees_every_ai_page_and_the_navigation_links_it(admin, org):
    for path in ADMIN_AI_PAGES:
        assert admin.get(path).status_code == 200, path
    assert 'href="/admin/ai/"' in html(admin.get("/admin/"))


def test_the_status_page_shows_model_classifiers_and_thresholds(admin, ai, org, model_available):
    page = html(admin.get("/admin/ai/"))
    assert "qwen-test" in page and "cdcdcdcdcdcdcdcd" in page and "available" in page
    table = re.search(r'id="active-classifiers">.*?</table>', page, re.S).group(0)
    assert "cold:1" in table and "60%" in table


def test_train_now_queues_training_and_activate_rolls_back(admin, ai, org):
    r = admin.post("/admin/ai/classifiers/train")
    assert r.status_code == 302
    drain()
    page = html(admin.get("/admin/ai/classifiers"))
    assert "Training was queued" in page and 'id="activate-department-1"' in page
    admin.post("/admin/ai/classifiers/activate", {"field": "department", "version": "1"})
    active = [v for v in ai_admin.list_classifier_versions(org.admin, "department") if v.active]
    assert [v.version for v in active] == [1]
    r = admin.post("/admin/ai/classifiers/activate", {"field": "department", "version": "9"})
    assert "cannot be activated" in html(admin.get("/admin/ai/classifiers"))


def test_label_profiles_are_edited_per_label_with_field_errors(admin, org):
    url = "/admin/ai/profiles?field=department"
    page = html(admin.get(url))
    assert f'id="label-{org.after_sales}"' in page and "售后" in page
    too_many = "\n".join(f"example {i}" for i in range(6))
    r = admin.post(url, {"value": str(org.after_sales), "description": "screens",
                         "examples": too_many, "active": "1"})
    assert r.status_code == 400
    assert "Examples" in html(r) and 'class="field-error"' in html(r)
    assert "example 5" in html(r)  # the posted text comes back to be fixed
    r = admin.post(url, {"value": str(org.after_sales), "description": "屏幕 <坏了>",
                         "examples": "屏幕碎了\n开不了机", "active": "1"})
    assert r.status_code == 302
    saved = ai_admin.list_label_profiles(org.admin, "department")
    assert [(p.description, p.examples) for p in saved] == [("屏幕 <坏了>", ["屏幕碎了", "开不了机"])]
    assert "屏幕 &lt;坏了&gt;" in html(admin.get(url))


def test_rules_are_created_with_field_errors_then_edited_disabled_reordered_deleted(admin, org):
    r = admin.post("/admin/ai/rules", {"name": "Fire", "condition": "keywords", "keywords": "",
                                       "priority": "", "urgency": "", "position": "0"})
    assert r.status_code == 400
    errors = re.search(r'id="form-errors">(.*?)</div>', html(r), re.S).group(1)
    assert "Keywords" in errors and "Priority" in errors
    r = admin.post("/admin/ai/rules", {"name": " ", "condition": "keywords", "keywords": "x",
                                       "priority": "1", "position": "0"})
    assert r.status_code == 400 and "Name: required" in html(r)
    r = admin.post("/admin/ai/rules", {"name": "Fire", "condition": "keywords",
                                       "keywords": "起火, smoke\n冒烟", "priority": "1",
                                       "urgency": "high", "position": "0", "active": "1"})
    assert r.status_code == 302
    admin.post("/admin/ai/rules", {"name": "VIP", "condition": "vip_customer", "priority": "2",
                                   "position": "0", "active": "1"})
    fire, vip = ai_admin.list_triage_rules(org.admin)
    assert fire.keywords == sorted(["起火", "smoke", "冒烟"]) and fire.priority == 1
    r = admin.post(f"/admin/ai/rules/{fire.id}", {"name": "Fire", "condition": "keywords",
                                                 "keywords": "", "priority": "1",
                                                 "position": "0", "active": "1"})
    assert r.status_code == 400 and "Keywords" in html(r)
    r = admin.post(f"/admin/ai/rules/{fire.id}", {"name": "Fire", "condition": "keywords",
                                                 "keywords": "fire", "priority": "1",
                                                 "position": "x", "active": "1"})
    assert r.status_code == 400 and "Position" in html(r)
    admin.post(f"/admin/ai/rules/{fire.id}/active", {"active": "0"})
    admin.post(f"/admin/ai/rules/{vip.id}/move", {"direction": "up"})
    rules = ai_admin.list_triage_rules(org.admin)
    assert [r.name for r in rules] == ["VIP", "Fire"] and not rules[1].active
    admin.post(f"/admin/ai/rules/{fire.id}/delete")
    assert [r.name for r in ai_admin.list_triage_rules(org.admin)] == ["VIP"]
    assert admin.get("/admin/ai/rules/999").status_code == 404


def test_admin_ai_pages_carry_no_inline_script_or_style(admin, ai, org):
    ai_admin.seed_default_rules()
    for path in ADMIN_AI_PAGES + [f"/admin/ai/rules/{ai_admin.list_triage_rules(org.admin)[0].id}"]:
        page = html(admin.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert not re.search(r"\s(style|on[a-z]+)=", page), path


def test_tickets_flow_to_the_triage_queue_by_rules_without_any_model(agent, settings, org):
    t = tickets.create_ticket(org.customer, tickets.TicketInput(subject="打印机坏了"),
                              settings).summary.id
    drain()  # no classifier, no model: the fast path sends it to a person
    assert Ticket.get_by_id(t).triage_state == "review"
    assert Ticket.get_by_id(t).number in html(agent.get("/agent/triage"))
