"""REST API tickets: listing with filters and paging, create, read, change, status moves,
and who may see what."""
import pytest

from appliance.services import comments
from tests.factories import ticket
from tests.web.apiclient import api  # noqa: F401


@pytest.fixture
def tickets(settings, org):
    """An after-sales ticket of 张三, a logistics ticket, and one of 李四 with no department."""
    return {
        "after_sales": ticket(settings, org.customer, "屏幕坏了").summary.id,
        "logistics": ticket(settings, org.admin, "快递丢失", department_id=org.logistics,
                            priority=1, tags=["快递"]).summary.id,
        "lisi": ticket(settings, org.other_customer, "发票").summary.id,
    }


def move_to_after_sales(api, org, ticket_id):
    r = api("admin").patch(f"/tickets/{ticket_id}", json={"department_id": org.after_sales})
    assert r.status_code == 200, r.get_json()


def ids(r) -> list[int]:
    assert r.status_code == 200, r.get_json()
    return [t["id"] for t in r.get_json()["items"]]


# -- list ----------------------------------------------------------------------------------

def test_an_admin_lists_every_ticket_newest_first(api, tickets):
    r = api("admin").get("/tickets")
    assert ids(r) == sorted(tickets.values(), reverse=True)
    assert r.get_json()["next_cursor"] is None


def test_a_customer_token_lists_only_the_customers_own_tickets(api, tickets):
    assert ids(api("zhangsan").get("/tickets")) == [tickets["after_sales"]]
    assert ids(api("lisi").get("/tickets")) == [tickets["lisi"]]


def test_an_agent_lists_the_own_department_and_the_triage_pool_only(api, tickets):
    assert tickets["logistics"] not in ids(api("wangfang").get("/tickets"))
    assert tickets["logistics"] in ids(api("lilei").get("/tickets"))


def test_status_filters_take_repeated_values_or_a_comma_list(api, tickets, settings, org):
    comments.add_comment(org.admin, tickets["lisi"], "处理中", settings)  # new → open
    admin = api("admin")
    assert ids(admin.get("/tickets?status=open")) == [tickets["lisi"]]
    both = ids(admin.get("/tickets?status=open,new"))
    assert both == ids(admin.get("/tickets?status=open&status=new")) and len(both) == 3
    assert ids(admin.get("/tickets?status=closed")) == []


def test_tickets_filter_by_priority_department_tag_channel_and_assignee(api, tickets, org):
    admin = api("admin")
    assert ids(admin.get("/tickets?priority=1")) == [tickets["logistics"]]
    assert ids(admin.get(f"/tickets?department_id={org.logistics}")) == [tickets["logistics"]]
    assert ids(admin.get("/tickets?tag=快递")) == [tickets["logistics"]]
    assert ids(admin.get("/tickets?channel=phone")) == []
    admin.patch(f"/tickets/{tickets['lisi']}", json={"assignee_id": org.admin.user_id})
    assert ids(admin.get("/tickets?assignee_id=me")) == [tickets["lisi"]]
    assert ids(admin.get(f"/tickets?assignee_id={org.admin.user_id}")) == [tickets["lisi"]]
    assert tickets["lisi"] not in ids(admin.get("/tickets?assignee_id=none"))


def test_tickets_filter_by_customer_and_creation_time(api, tickets, org):
    admin = api("admin")
    assert ids(admin.get(f"/tickets?customer_id={org.customer.customer_id}")) == [
        tickets["after_sales"]]
    assert len(ids(admin.get("/tickets?created_from=2000-01-01T00:00:00Z"))) == 3
    assert ids(admin.get("/tickets?created_to=2000-01-01")) == []


def test_pages_follow_the_cursor_until_the_end(api, tickets):
    admin = api("admin")
    first = admin.get("/tickets?limit=2&sort=oldest").get_json()
    second = admin.get(f"/tickets?limit=2&sort=oldest&cursor={first['next_cursor']}").get_json()
    assert [t["id"] for t in first["items"] + second["items"]] == sorted(tickets.values())
    assert second["next_cursor"] is None


def test_a_garbled_cursor_is_a_400(api, tickets):
    r = api("admin").get("/tickets?cursor=%%%not-a-cursor")
    assert r.status_code == 400 and "cursor" in r.get_json()["error"]["details"]["fields"]


# -- create and read ------------------------------------------------------------------------

def test_an_agent_creates_a_ticket_through_the_api_channel(api, org):
    r = api("wangfang").post("/tickets", json={
        "subject": "打印机卡纸", "description": "三楼", "priority": 2, "urgency": "high",
        "department_id": org.after_sales, "tags": ["打印机"], "due_at": "2030-01-02T03:04:05+08:00"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["summary"]["channel"] == "api" and body["summary"]["priority"] == 2
    assert body["summary"]["due_at"] == "2030-01-01T19:04:05Z"
    assert body["tags"] == ["打印机"] and r.headers["ETag"] == '"1"'


def test_a_customer_creates_a_web_ticket_for_their_own_customer_record(api, org):
    r = api("zhangsan").post("/tickets", json={"subject": "退货", "channel": "phone",
                                               "department_id": org.logistics})
    summary = r.get_json()["summary"]
    assert r.status_code == 201 and summary["channel"] == "web"
    assert summary["customer"]["id"] == org.customer.customer_id
    assert summary["department"] is None


def test_a_ticket_detail_shows_comments_events_and_allowed_transitions(api, tickets, settings,
                                                                      org):
    comments.add_comment(org.agent, tickets["after_sales"], "我们来处理", settings)
    body = api("wangfang").get(f"/tickets/{tickets['after_sales']}").get_json()
    assert [c["body"] for c in body["comments"]] == ["我们来处理"]
    assert {e["kind"] for e in body["events"]} >= {"created", "reply_added"}
    assert "resolved" in body["allowed_transitions"]


def test_a_customer_never_sees_internal_notes_or_internal_events(api, tickets, settings, org):
    tid = tickets["after_sales"]
    comments.add_comment(org.agent, tid, "客户很急，内部备注", settings, internal=True)
    comments.add_comment(org.agent, tid, "您好", settings)
    r = api("zhangsan").get(f"/tickets/{tid}")
    assert [c["body"] for c in r.get_json()["comments"]] == ["您好"]
    assert all(not e["internal"] for e in r.get_json()["events"])
    assert "内部备注" not in r.get_data(as_text=True)
    staff_view = api("wangfang").get(f"/tickets/{tid}").get_json()
    assert [c["internal"] for c in staff_view["comments"]] == [True, False]


def test_a_customer_gets_404_for_another_customers_ticket(api, tickets):
    r = api("zhangsan").get(f"/tickets/{tickets['lisi']}")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_a_logistics_agent_gets_404_on_an_after_sales_ticket(api, org, tickets):
    move_to_after_sales(api, org, tickets["after_sales"])
    lilei = api("lilei")
    assert lilei.get(f"/tickets/{tickets['after_sales']}").status_code == 404
    r = lilei.patch(f"/tickets/{tickets['after_sales']}", json={"priority": 1})
    assert r.status_code == 404
    r = lilei.post(f"/tickets/{tickets['after_sales']}/transitions", json={"status": "closed"})
    assert r.status_code == 404


# -- change ----------------------------------------------------------------------------------

def test_an_agent_changes_fields_and_the_version_moves_on(api, tickets):
    r = api("wangfang").patch(f"/tickets/{tickets['after_sales']}",
                              json={"priority": 1, "tags": ["屏幕"], "expected_version": 1})
    assert r.status_code == 200
    assert r.get_json()["summary"]["priority"] == 1 and r.get_json()["tags"] == ["屏幕"]
    assert r.headers["ETag"] == '"2"'


def test_two_changes_from_the_same_version_conflict(api, tickets):
    path = f"/tickets/{tickets['after_sales']}"
    first = api("wangfang").patch(path, json={"priority": 2, "expected_version": 1})
    assert first.status_code == 200
    r = api("lead").patch(path, json={"priority": 4, "expected_version": 1})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert r.get_json()["error"]["details"]["current_version"] == 2
    assert api("admin").get(path).get_json()["summary"]["priority"] == 2


def test_if_match_carries_the_expected_version_too(api, tickets):
    client = api("wangfang")
    path = f"/tickets/{tickets['after_sales']}"
    etag = client.get(path).headers["ETag"]
    assert client.patch(path, json={"priority": 2}, headers={"If-Match": etag}).status_code == 200
    r = client.patch(path, json={"priority": 3}, headers={"If-Match": etag})
    assert r.status_code == 409
    r = client.patch(path, json={"priority": 3}, headers={"If-Match": "yesterday"})
    assert r.status_code == 400 and "If-Match" in r.get_json()["error"]["details"]["fields"]


def test_read_only_fields_cannot_be_patched(api, tickets):
    r = api("wangfang").patch(f"/tickets/{tickets['after_sales']}",
                              json={"number": "GD-1", "version": 7, "requester_id": 1})
    assert r.status_code == 400
    assert set(r.get_json()["error"]["details"]["fields"]) == {"number", "version", "requester_id"}


def test_a_customer_may_not_change_ticket_fields(api, tickets):
    r = api("zhangsan").patch(f"/tickets/{tickets['after_sales']}", json={"priority": 1})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


# -- transitions ------------------------------------------------------------------------------

def test_an_agent_resolves_a_ticket_through_a_transition(api, tickets):
    r = api("wangfang").post(f"/tickets/{tickets['after_sales']}/transitions",
                             json={"status": "resolved"})
    assert r.status_code == 200
    assert r.get_json()["summary"]["status"] == "resolved"
    assert r.get_json()["resolved_at"].endswith("Z")


def test_an_illegal_transition_is_409_with_the_allowed_statuses(api, tickets):
    client = api("wangfang")
    path = f"/tickets/{tickets['after_sales']}/transitions"
    assert client.post(path, json={"status": "closed"}).status_code == 200
    r = client.post(path, json={"status": "pending_customer"})
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "illegal_transition"
    assert error["details"] == {"current": "closed", "requested": "pending_customer",
                                "allowed": ["open"]}


def test_an_unknown_status_is_a_400_not_a_409(api, tickets):
    r = api("wangfang").post(f"/tickets/{tickets['after_sales']}/transitions",
                             json={"status": "deleted"})
    assert r.status_code == 400 and "status" in r.get_json()["error"]["details"]["fields"]


def test_a_customer_may_close_but_not_resolve_their_ticket(api, tickets):
    client = api("zhangsan")
    path = f"/tickets/{tickets['after_sales']}/transitions"
    r = client.post(path, json={"status": "resolved"})
    assert r.status_code == 409 and r.get_json()["error"]["details"]["allowed"] == ["closed"]
    assert client.post(path, json={"status": "closed"}).status_code == 200


def test_a_transition_with_a_stale_version_conflicts(api, tickets):
    client = api("wangfang")
    path = f"/tickets/{tickets['after_sales']}"
    client.patch(path, json={"priority": 1})
    r = client.post(path + "/transitions", json={"status": "resolved", "expected_version": 1})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
