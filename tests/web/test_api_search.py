"""REST API search: ranked results with highlights, only what the caller may see."""
import pytest

from appliance import jobs
from appliance.services import comments
from tests.factories import ticket
from tests.web.apiclient import api  # noqa: F401


@pytest.fixture
def indexed(settings, org):
    """Tickets of two customers and one internal note, run through the real indexing job."""
    mine = ticket(settings, org.customer, "打印机无法打印", description="打印机卡纸").summary.id
    theirs = ticket(settings, org.other_customer, "打印机报错").summary.id
    comments.add_comment(org.agent, mine, "打印机 内部备注 secretword", settings, internal=True)
    jobs.run_pending_inline()
    return {"mine": mine, "theirs": theirs}


def result_ids(r) -> list[int]:
    assert r.status_code == 200, r.get_json()
    return [item["ticket"]["id"] for item in r.get_json()["items"]]


def test_an_agent_finds_tickets_with_highlights(api, indexed):
    r = api("wangfang").get("/search?q=打印机")
    assert sorted(result_ids(r)) == sorted(indexed.values())
    assert r.get_json()["total"] == 2
    first = r.get_json()["items"][0]
    assert first["score"] > 0 and first["highlights"]
    assert set(first["ticket"]) >= {"id", "number", "subject", "status"}


def test_a_customer_finds_only_their_own_tickets(api, indexed):
    assert result_ids(api("zhangsan").get("/search?q=打印机")) == [indexed["mine"]]


def test_internal_notes_are_searchable_by_staff_only(api, indexed):
    assert result_ids(api("wangfang").get("/search?q=secretword")) == [indexed["mine"]]
    assert result_ids(api("zhangsan").get("/search?q=secretword")) == []


def test_search_filters_by_status_and_pages_with_limit_and_offset(api, indexed):
    client = api("admin")
    assert result_ids(client.get("/search?q=打印机&status=closed")) == []
    one = result_ids(client.get("/search?q=打印机&limit=1"))
    two = result_ids(client.get("/search?q=打印机&limit=1&offset=1"))
    assert len(one) == len(two) == 1 and one != two


def test_a_ticket_number_finds_that_ticket(api, indexed):
    number = api("admin").get(f"/tickets/{indexed['mine']}").get_json()["summary"]["number"]
    assert result_ids(api("wangfang").get(f"/search?q={number}")) == [indexed["mine"]]


@pytest.mark.parametrize("query", ["", "?q=", "?q=x&limit=1000", "?q=x&status=gone",
                                   "?q=x&offset=-1"])
def test_bad_search_parameters_are_400(api, indexed, query):
    r = api("wangfang").get("/search" + query)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "validation_error"
