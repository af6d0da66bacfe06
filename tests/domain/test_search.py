"""Ticket search through the service and the Whoosh index, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from appliance import jobs, registry
from appliance.models import Ticket
from appliance.services import comments, indexing, links, search, tickets
from search.highlight import MARK_END, MARK_START
from tests.factories import make_org, ticket

M, E = MARK_START, MARK_END


@pytest.fixture
def org(settings):
    return make_org()


def found(actor, query: str, settings, **filters) -> list[int]:
    results, _ = search.search_tickets(actor, query, settings, **filters)
    return [r.ticket.id for r in results]


def indexed(settings, who, subject: str, description: str = "", **fields) -> int:
    t = ticket(settings, who, subject, description=description, **fields)
    jobs.run_pending_inline()
    return t.summary.id


def index_files_contain(settings, needle: str) -> bool:
    data = needle.encode("utf-8")
    return any(data in p.read_bytes() for p in Path(settings.index_dir).rglob("*") if p.is_file())


@pytest.fixture
def helpdesk(settings, org):
    """A few tickets in both languages, all in the after-sales department."""
    ids = {}
    for key, subject, description in (
            ("printer", "打印机无法打印", "办公室的打印机一直卡纸，无法打印任何文件"),
            ("refund", "申请退款", "订单重复扣款了，请尽快退款"),
            ("paper", "打印纸用完了", "需要两箱A4纸"),
            ("en_printer", "Printer not printing", "My office printer stopped printing yesterday"),
            ("en_refund", "Refund request", "I was charged twice, please refund the second charge"),
            ("en_paper", "Paper order", "We printed everything; please order more paper")):
        ids[key] = indexed(settings, org.agent, subject, description, department_id=org.after_sales)
    return ids


def test_a_chinese_query_finds_only_the_tickets_with_that_word(settings, org, helpdesk):
    assert found(org.agent, "退款", settings) == [helpdesk["refund"]]


def test_a_chinese_multi_word_query_ranks_the_ticket_matching_all_words_first(settings, org, helpdesk):
    for query in ("打印机 无法 打印", "打印机无法打印"):
        ids = found(org.agent, query, settings)
        assert ids[0] == helpdesk["printer"]
        assert helpdesk["refund"] not in ids


def test_a_partial_chinese_match_still_shows_below_full_matches(settings, org, helpdesk):
    ids = found(org.agent, "打印 纸", settings)
    assert set(ids) >= {helpdesk["paper"], helpdesk["printer"]}
    assert ids[0] == helpdesk["paper"]


def test_a_traditional_chinese_query_finds_simplified_tickets(settings, org, helpdesk):
    assert found(org.agent, "申請退款", settings) == [helpdesk["refund"]]
    assert found(org.agent, "打印機", settings)[0] == helpdesk["printer"]


def test_english_queries_are_stemmed_and_rank_the_full_match_first(settings, org, helpdesk):
    ids = found(org.agent, "printer not printing", settings)
    assert ids[0] == helpdesk["en_printer"]
    assert helpdesk["en_refund"] not in ids
    assert found(org.agent, "refunds", settings) == [helpdesk["en_refund"]]
    assert set(found(org.agent, "print", settings)) == {helpdesk["en_printer"], helpdesk["en_paper"]}


def test_matches_are_highlighted_with_private_use_marks_in_plain_text(settings, org, helpdesk):
    results, total = search.search_tickets(org.agent, "退款", settings)
    assert total == 1
    assert results[0].highlights["subject"] == f"申请{M}退款{E}"
    assert results[0].highlights["description"] == f"订单重复扣款了，请尽快{M}退款{E}"
    results, _ = search.search_tickets(org.agent, "printing", settings)
    assert results[0].highlights["subject"] == f"Printer not {M}printing{E}"


def test_bad_query_syntax_does_not_raise(settings, org, helpdesk):
    for query in ('"打印机', "((退款", "退款 AND", "NOT", "*:*", "description:退款", "refund^^"):
        search.search_tickets(org.agent, query, settings)
    assert found(org.agent, "((退款", settings) == [helpdesk["refund"]]


def test_an_agent_of_another_department_does_not_find_the_ticket(settings, org, helpdesk):
    assert found(org.agent2, "退款", settings) == []
    assert found(org.supervisor, "退款", settings) == [helpdesk["refund"]]
    assert found(org.admin, "退款", settings) == [helpdesk["refund"]]


def test_unassigned_department_tickets_and_own_assignments_are_found_by_any_agent(settings, org):
    pool = indexed(settings, org.agent, "物流延迟 退款")
    mine = indexed(settings, org.admin, "退款 特殊", department_id=org.after_sales,
                   assignee_id=org.agent2.user_id)
    assert set(found(org.agent2, "退款", settings)) == {pool, mine}


def test_a_customer_finds_only_their_own_tickets_and_the_total_says_so(settings, org):
    own = indexed(settings, org.customer, "退款没到账", "上周申请的退款还没到账")
    indexed(settings, org.other_customer, "退款申请", "请退款")
    indexed(settings, org.agent, "退款政策", "内部讨论退款", department_id=org.after_sales)
    results, total = search.search_tickets(org.customer, "退款", settings)
    assert [r.ticket.id for r in results] == [own] and total == 1


def test_internal_notes_are_searchable_by_staff_and_never_by_customers(settings, org):
    own = indexed(settings, org.customer, "发票抬头错误", "请重开发票")
    comments.add_comment(org.agent, own, "怀疑是欺诈订单 fraud", settings, internal=True)
    comments.add_comment(org.agent, own, "已经为您重新开具发票", settings)
    jobs.run_pending_inline()
    results, _ = search.search_tickets(org.agent, "欺诈", settings)
    assert [r.ticket.id for r in results] == [own]
    assert results[0].highlights == {"internal_text": f"怀疑是{M}欺诈{E}订单 fraud"}
    assert found(org.customer, "欺诈", settings) == []
    assert found(org.customer, "fraud", settings) == []
    results, _ = search.search_tickets(org.customer, "发票", settings)
    assert [r.ticket.id for r in results] == [own]
    assert "internal_text" not in results[0].highlights
    assert results[0].highlights["public_text"] == f"已经为您重新开具{M}发票{E}"


def test_status_department_and_date_filters_narrow_the_results(settings, org):
    done = indexed(settings, org.admin, "退款 一", department_id=org.after_sales)
    fresh = indexed(settings, org.admin, "退款 二", department_id=org.logistics)
    tickets.transition_ticket(org.admin, done, "resolved", settings)
    Ticket.update(created_at=dt.datetime(2025, 3, 1)).where(Ticket.id == done).execute()
    jobs.schedule("index_ticket", done)
    jobs.run_pending_inline()
    admin = org.admin
    assert found(admin, "退款", settings, statuses=["resolved"]) == [done]
    assert found(admin, "退款", settings, statuses=["new", "open"]) == [fresh]
    assert found(admin, "退款", settings, department_ids=[org.logistics]) == [fresh]
    assert found(admin, "退款", settings, created_to=dt.datetime(2025, 12, 31)) == [done]
    assert found(admin, "退款", settings, created_from=dt.datetime(2025, 2, 1),
                 created_to=dt.datetime(2025, 3, 2)) == [done]
    assert set(found(admin, "退款", settings, created_from=dt.datetime(2025, 1, 1))) == {done, fresh}


def test_paging_returns_the_requested_slice_and_the_full_total(settings, org):
    ids = {indexed(settings, org.admin, f"退款 {i}") for i in range(5)}
    page1, total = search.search_tickets(org.admin, "退款", settings, limit=2)
    page3, _ = search.search_tickets(org.admin, "退款", settings, limit=2, offset=4)
    rest, _ = search.search_tickets(org.admin, "退款", settings, limit=2, offset=2)
    assert total == 5 and len(page1) == 2 and len(page3) == 1
    assert {r.ticket.id for r in page1 + rest + page3} == ids


def test_an_edited_ticket_is_found_by_its_new_words_only(settings, org):
    t = indexed(settings, org.agent, "打印机坏了", department_id=org.after_sales)
    tickets.update_ticket(org.agent, t, {"subject": "扫描仪坏了"}, settings)
    jobs.run_pending_inline()
    assert found(org.agent, "打印机", settings) == []
    assert found(org.agent, "扫描仪", settings) == [t]


def test_phone_numbers_and_emails_in_ticket_text_never_reach_the_index_files(settings, org):
    t = indexed(settings, org.customer, "请回电 13912345678",
                "我的电话是 139-1234-5678，邮箱 wang.fang@example.org，身份证 11010519491231002X")
    comments.add_comment(org.customer, t, "或者打 +86 13912345678", settings)
    jobs.run_pending_inline()
    assert found(org.agent, "回电", settings) == [t]
    for needle in ("13912345678", "1234-5678", "wang.fang", "example.org", "11010519491231002X"):
        assert not index_files_contain(settings, needle), needle
    assert index_files_contain(settings, "回电")  # the grep itself works
    assert found(org.agent, "13912345678", settings) == []


def test_a_merged_ticket_vanishes_from_search_and_its_replies_move_to_the_target(settings, org):
    source = indexed(settings, org.agent, "退款 源工单 甲", department_id=org.after_sales)
    comments.add_comment(org.agent, source, "客户补充说明 乙", settings)
    target = indexed(settings, org.agent, "退款 目标工单", department_id=org.after_sales)
    links.merge_tickets(org.agent, source, target, settings)
    jobs.run_pending_inline()
    assert found(org.agent, "退款", settings) == [target]
    assert found(org.agent, "乙", settings) == [target]
    assert found(org.agent, "甲", settings) == []


def test_a_deleted_ticket_leaves_no_text_in_the_index_files(settings, org):
    t = indexed(settings, org.agent, "zebracorn 独角兽", department_id=org.after_sales)
    assert index_files_contain(settings, "zebracorn")
    index = registry.search_index(settings)
    index.delete(t)
    index.optimize()
    assert found(org.agent, "zebracorn", settings) == []
    assert not index_files_contain(settings, "zebracorn")
    assert not index_files_contain(settings, "独角兽")


def test_rebuild_recreates_the_index_from_the_database_without_merged_tickets(settings, org):
    a = ticket(settings, org.agent, "退款 一", department_id=org.after_sales).summary.id
    b = ticket(settings, org.agent, "退款 二", department_id=org.after_sales).summary.id
    links.merge_tickets(org.agent, b, a, settings)
    assert found(org.agent, "退款", settings) == []  # nothing has run the jobs yet
    assert indexing.rebuild() == 1
    assert found(org.agent, "退款", settings) == [a]
    assert registry.search_index(settings).health()


def test_search_health_creates_a_missing_index(settings):
    assert registry.search_index(settings).health()
    assert (Path(settings.index_dir) / "CURRENT").exists()


def test_a_search_does_not_wait_out_a_first_rebuild_that_holds_the_lock(settings, org):
    """With no index at all and a rebuild holding the write lock (half an hour at 1M), a
    search gives up after READER_WAIT seconds (the page says search is unavailable)
    instead of holding a web thread for the writers' 60 s."""
    import time

    from appliance.ports import SearchFilters
    from search.whoosh_index import READER_WAIT, IndexBusy, file_lock
    index = registry.search_index(settings)
    assert not (Path(settings.index_dir) / "CURRENT").exists()
    Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
    with file_lock(Path(settings.index_dir) / "write.lock"):
        t0 = time.monotonic()
        with pytest.raises(IndexBusy):
            index.search("退款", SearchFilters(include_internal=True))
        assert time.monotonic() - t0 < READER_WAIT + 3
    assert index.health()
