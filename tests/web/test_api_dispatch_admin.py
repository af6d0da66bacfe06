"""REST API for dispatch administration: policies, profiles, absences, category skills
and the health check, with validation (400), roles (403), ids (404) and versions (409)."""
from __future__ import annotations

import pytest

from appliance.models import AgentAbsence, CategorySkill, DispatchPolicy, Job
from appliance.rules.access import SYSTEM
from appliance.services import org as org_service
from tests.web.apiclient import api  # noqa: F401


def fields(r) -> dict:
    return r.get_json()["error"]["details"]["fields"]


def put(client, path, **kw):
    return client.open("PUT", path, **kw)


def test_a_policy_is_read_with_defaults_and_changed_with_its_version(api, org):
    client = api("admin")
    r = client.get(f"/departments/{org.after_sales}/dispatch-policy")
    assert r.status_code == 200 and r.headers["ETag"] == '"0"'
    assert r.get_json()["strategy"] == "skills" and r.get_json()["department"]["name"] == "售后"
    r = put(client, f"/departments/{org.after_sales}/dispatch-policy",
            json={"strategy": "least_loaded", "escalate_after_minutes": 20,
                  "priority_weights": {"1": 2}, "expected_version": 0})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 1 and r.headers["ETag"] == '"1"'
    assert Job.select().where(Job.name == "dispatch_department").exists()
    r = put(client, f"/departments/{org.after_sales}/dispatch-policy",
            json={"auto_assign": False}, headers={"If-Match": '"0"'})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert DispatchPolicy.get_by_id(org.after_sales).auto_assign is True


def test_bad_policy_values_are_a_400_naming_each_field(api, org):
    r = put(api("admin"), f"/departments/{org.after_sales}/dispatch-policy",
            json={"weights": {"skill": 0}, "channel_weights": {"fax": 1},
                  "escalate_after_minutes": 20000, "overflow_department_id": org.after_sales,
                  "strategy": "coin"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "validation_error"
    assert fields(r) == {
        "weights": "at least one weight must be greater than 0",
        "channel_weights.fax": "unknown; use web, email, phone, chat, api",
        "escalate_after_minutes": "must be between 0 and 10080",
        "overflow_department_id": "cannot be the department itself",
        "strategy": "must be one of skills, least_loaded, round_robin"}


def test_an_overflow_cycle_is_a_400(api, org):
    client = api("admin")
    assert put(client, f"/departments/{org.after_sales}/dispatch-policy",
               json={"overflow_department_id": org.logistics}).status_code == 200
    r = put(client, f"/departments/{org.logistics}/dispatch-policy",
            json={"overflow_department_id": org.after_sales})
    assert r.status_code == 400
    assert fields(r)["overflow_department_id"] == "would make an overflow cycle: LOG → AS → LOG"


@pytest.mark.parametrize("username", ["wangfang", "lead", "zhangsan"])
def test_only_admins_use_the_dispatch_admin_api(api, org, username):
    client = api(username)
    assert client.get(f"/departments/{org.after_sales}/dispatch-policy").status_code == 403
    assert put(client, f"/departments/{org.after_sales}/dispatch-policy",
               json={"strategy": "round_robin"}).status_code == 403
    assert client.get(f"/users/{org.agent.user_id}/dispatch-profile").status_code == 403
    assert put(client, f"/users/{org.agent.user_id}/dispatch-profile",
               json={"capacity": 50}).status_code == 403
    assert client.get("/dispatch/health").status_code == 403
    assert not DispatchPolicy.select().exists()


def test_unknown_ids_are_404(api, org):
    client = api("admin")
    assert client.get("/departments/999/dispatch-policy").status_code == 404
    assert client.get("/users/999/dispatch-profile").status_code == 404
    assert client.get(f"/users/{org.customer.user_id}/dispatch-profile").status_code == 404
    assert client.delete(f"/users/{org.agent.user_id}/absences/999").status_code == 404
    assert put(client, "/categories/999/skills", json={"skills": []}).status_code == 404


def test_a_profile_is_changed_and_bad_shifts_are_named(api, org):
    client = api("admin")
    uid = org.agent.user_id
    r = put(client, f"/users/{uid}/dispatch-profile", json={
        "languages": ["zh", "en"], "capacity": 12, "vip_tiers": ["*"],
        "shifts": [{"weekday": 0, "start": "09:00", "end": "18:00"}]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["capacity"] == 12 and body["shifts"] == [{"weekday": 0, "start": "09:00",
                                                         "end": "18:00"}]
    assert Job.select().where((Job.name == "dispatch_agent") & (Job.object_id == uid)).exists()
    r = put(client, f"/users/{uid}/dispatch-profile", json={"shifts": [
        {"weekday": 2, "start": "08:00", "end": "12:00"},
        {"weekday": 2, "start": "10:00", "end": "25:00"},
        {"weekday": 2, "start": "11:00", "end": "15:00"}]})
    assert r.status_code == 400
    assert fields(r) == {"shifts[1].end": "must be a time HH:MM"}
    r = put(client, f"/users/{uid}/dispatch-profile", json={"shifts": [
        {"weekday": 2, "start": "08:00", "end": "12:00"},
        {"weekday": 2, "start": "11:00", "end": "15:00"}]})
    assert fields(r) == {"shifts[1]": "overlaps shifts[0]"}
    r = put(client, f"/users/{uid}/dispatch-profile", json={"colour": "blue"})
    assert r.status_code == 400 and fields(r) == {"colour": "unknown field"}


def test_a_profile_has_an_etag_and_a_stale_version_is_a_409(api, org):
    client = api("admin")
    uid = org.agent.user_id
    r = client.get(f"/users/{uid}/dispatch-profile")
    version = r.get_json()["version"]
    assert r.headers["ETag"] == f'"{version}"'
    r = put(client, f"/users/{uid}/dispatch-profile", json={"capacity": 7},
            headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200 and r.headers["ETag"] == f'"{version + 1}"'
    r = put(client, f"/users/{uid}/dispatch-profile", json={"capacity": 9},
            headers={"If-Match": f'"{version}"'})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    r = put(client, f"/users/{uid}/dispatch-profile",
            json={"capacity": 9, "expected_version": version})
    assert r.status_code == 409
    r = put(client, f"/users/{uid}/dispatch-profile",
            json={"capacity": 9, "expected_version": version + 1})
    assert r.status_code == 200 and r.get_json()["capacity"] == 9
    r = put(client, f"/users/{uid}/dispatch-profile", json={"capacity": 1},
            headers={"If-Match": '"²"'})
    assert r.status_code == 400 and "If-Match" in fields(r)


def test_a_whole_day_shift_and_an_early_absence_over_the_api(api, org):
    client = api("admin")
    uid = org.agent.user_id
    r = put(client, f"/users/{uid}/dispatch-profile",
            json={"shifts": [{"weekday": 0, "start": "00:00", "end": "24:00"}]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["shifts"] == [{"weekday": 0, "start": "00:00", "end": "24:00"}]
    r = client.post(f"/users/{uid}/absences", json={
        "kind": "leave", "starts_at": "0001-01-01T00:00:00+08:00",
        "ends_at": "0001-01-02T00:00:00+08:00"})
    assert r.status_code == 400


def test_absences_are_added_and_deleted(api, org):
    client = api("admin")
    uid = org.agent.user_id
    r = client.post(f"/users/{uid}/absences", json={
        "kind": "leave", "starts_at": "2030-05-01T00:00:00Z", "ends_at": "2030-08-01T00:00:00Z"})
    assert r.status_code == 400 and fields(r) == {"ends_at": "at most 60 days after the start"}
    r = client.post(f"/users/{uid}/absences", json={
        "kind": "leave", "starts_at": "2030-05-01T08:00:00+08:00",
        "ends_at": "2030-05-05T00:00:00Z", "note": "年假"})
    assert r.status_code == 201
    assert r.get_json()["starts_at"] == "2030-05-01T00:00:00Z"
    absence_id = r.get_json()["id"]
    assert client.get(f"/users/{uid}/dispatch-profile").get_json()["absences"][0]["note"] == "年假"
    assert client.delete(f"/users/{uid}/absences/{absence_id}").status_code == 204
    assert not AgentAbsence.select().exists()


def test_category_skills_are_replaced_and_an_inactive_category_is_refused(api, org):
    client = api("admin")
    active = org_service.save_category(SYSTEM, "维修")
    old = org_service.save_category(SYSTEM, "旧产品", active=False)
    skill = org_service.save_skill(SYSTEM, "售后维修")
    r = put(client, f"/categories/{active.id}/skills",
            json={"skills": [{"skill_id": skill.id, "min_level": 4}]})
    assert r.status_code == 200
    assert r.get_json()["skills"] == [{"skill_id": skill.id, "skill": "售后维修", "min_level": 4}]
    assert client.get(f"/categories/{active.id}/skills").get_json()["category"]["name"] == "维修"
    r = put(client, f"/categories/{old.id}/skills",
            json={"skills": [{"skill_id": skill.id, "min_level": 2}]})
    assert r.status_code == 400 and "inactive" in fields(r)["category_id"]
    r = put(client, f"/categories/{active.id}/skills",
            json={"skills": [{"skill_id": skill.id, "min_level": 9}]})
    assert r.status_code == 400 and "skills" in fields(r)
    assert CategorySkill.select().count() == 1


def test_the_health_check_lists_problems_with_codes(api, org):
    org_service.save_department(SYSTEM, "RD", "研发")
    r = api("admin").get("/dispatch/health")
    assert r.status_code == 200
    problems = r.get_json()["items"]
    assert {"code": "department_without_agents", "severity": "error",
            "params": {"department_id": 3, "department": "研发"}} in problems
