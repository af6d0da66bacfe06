"""Satisfaction surveys on SQLite and PostgreSQL: one survey per resolution, mailed through
the real outbox to a real SMTP relay on loopback, links that work once and expire, forged
tokens, what a bad rating sets off, and the results' maths and scope."""
from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd (the test extras) is not installed")

from appliance import jobs, runtime  # noqa: E402
from appliance.errors import NotFound, PermissionDenied, ValidationError  # noqa: E402
from appliance.models import (Job, MailMessage, Survey, Team, TeamMember, Ticket,  # noqa: E402
                              TicketLink, TimelineEvent, utcnow)
from appliance.rules.access import SYSTEM  # noqa: E402
from appliance.services import csat, csat_report, mailboxes, nps, org, tickets  # noqa: E402
from tests.conftest import with_settings  # noqa: E402
from tests.factories import make_org  # noqa: E402
from tests.smtp_relay import relay, relay_settings  # noqa: E402,F401

LINK = re.compile(r"https://help\.example/survey/([A-Za-z0-9_-]+)\?r=(\d)")


@pytest.fixture
def site(settings, relay):
    s = with_settings(relay_settings(settings, relay), public_url="https://help.example")
    runtime.configure(s)   # the send job reads the configured settings
    o = make_org()
    mailboxes.add_mailbox(SYSTEM, "support@gongdan.example", department_code="AS", name="售后")
    return s, o


def new_ticket(s, o, subject="打印机无法打印"):
    data = tickets.TicketInput(subject=subject, department_id=o.after_sales,
                               customer_id=o.customer.customer_id, assignee_id=o.agent.user_id)
    return tickets.create_ticket(SYSTEM, data, s).summary.id


def resolve(s, o, ticket_id):
    tickets.transition_ticket(o.agent, ticket_id, "resolved", s)


def send_all() -> int:
    return sum(jobs.run_job(j.id) for j in list(   # in order: tests read the last mail sent
        Job.select(Job.id).where((Job.name == "send_mail") & Job.done_at.is_null())
        .order_by(Job.id)))


def mailed_links(relay) -> dict[int, str]:
    text = relay.messages[-1].message.get_body(("plain",)).get_content()
    return {int(r): token for token, r in LINK.findall(text)}


def mailed_token(s, o, relay, subject="打印机无法打印") -> tuple[int, str]:
    ticket_id = new_ticket(s, o, subject)
    resolve(s, o, ticket_id)
    assert send_all() >= 1
    links = mailed_links(relay)
    assert sorted(links) == [1, 2, 3, 4, 5] and len(set(links.values())) == 1
    return ticket_id, links[5]


def test_a_resolution_mails_one_survey_and_a_new_resolution_after_reopening_another(
        backend, site, relay):
    s, o = site
    ticket_id, token = mailed_token(s, o, relay)
    [survey] = Survey.select()
    number = Ticket.get_by_id(ticket_id).number
    msg = relay.messages[-1].message
    assert relay.messages[-1].rcpt_tos == ["zhangsan@example.com"]
    assert str(msg["Subject"]).startswith(f"[{number}]") and msg["Auto-Submitted"] == "auto-generated"
    # Only the hash is stored; the token is 256 random bits.
    assert survey.token_hash != token and token not in survey.token_hash and len(token) >= 40
    assert csat.survey_by_token(token, s).state == "open"
    # The same resolution again (a retried job, a second call): no second survey.
    t = Ticket.get_by_id(ticket_id)
    assert csat.on_resolved(t, t.resolved_at, s) is None
    # resolved -> closed is the same resolution.
    tickets.transition_ticket(o.agent, ticket_id, "closed", s)
    assert Survey.select().count() == 1
    # Reopened and resolved again: a new survey for the new resolution.
    tickets.transition_ticket(o.agent, ticket_id, "open", s)
    resolve(s, o, ticket_id)
    assert Survey.select().count() == 2
    assert send_all() == 1 and len(relay.messages) == 2


def test_no_survey_when_surveys_are_off_or_the_ticket_has_no_customer(backend, site, relay):
    s, o = site
    off = with_settings(s, csat_enabled=False)
    t1 = new_ticket(off, o)
    tickets.transition_ticket(o.agent, t1, "resolved", off)
    t2 = tickets.create_ticket(SYSTEM, tickets.TicketInput(subject="内部", department_id=o.after_sales,
                                                           assignee_id=o.agent.user_id), s).summary.id
    resolve(s, o, t2)
    assert Survey.select().count() == 0


def test_a_link_records_one_rating_then_answers_politely_and_takes_one_comment(
        backend, site, relay):
    s, o = site
    ticket_id, token = mailed_token(s, o, relay)
    view = csat.answer_by_token(token, "5", "", s)
    assert (view.state, view.rating, view.can_comment) == ("answered", 5, True)
    with pytest.raises(csat.SurveyAnswered):
        csat.answer_by_token(token, "1", "", s)
    assert Survey.get().rating == 5
    assert csat.survey_by_token(token, s).state == "answered"
    csat.comment_by_token(token, "师傅很专业", s)
    with pytest.raises(csat.SurveyAnswered):
        csat.comment_by_token(token, "改一下", s)
    assert Survey.get().comment == "师傅很专业"
    [event] = TimelineEvent.select().where(TimelineEvent.kind == "csat_answered")
    assert (event.field, event.after, event.internal) == ("rating", 5, True)


def test_the_comment_window_closes(backend, site, relay):
    s, o = site
    _, token = mailed_token(s, o, relay)
    csat.answer_by_token(token, 4, "", s)
    Survey.update(answered_at=utcnow() - dt.timedelta(minutes=s.csat_comment_minutes + 1)).execute()
    assert csat.survey_by_token(token, s).can_comment is False
    with pytest.raises(csat.SurveyAnswered):
        csat.comment_by_token(token, "late", s)


def test_bad_input_is_refused_with_the_field_named(backend, site, relay):
    s, o = site
    _, token = mailed_token(s, o, relay)
    for bad in ("0", "6", "x", "", None, "3.5"):
        with pytest.raises(ValidationError) as err:
            csat.answer_by_token(token, bad, "", s)
        assert "rating" in err.value.fields
    with pytest.raises(ValidationError) as err:
        csat.answer_by_token(token, 3, "长" * (csat.COMMENT_MAX + 1), s)
    assert "comment" in err.value.fields
    assert csat.survey_by_token(token, s).state == "open"   # nothing recorded


def test_an_expired_link_is_refused_and_records_nothing(backend, site, relay):
    s, o = site
    _, token = mailed_token(s, o, relay)
    Survey.update(expires_at=utcnow() - dt.timedelta(seconds=1)).execute()
    assert csat.survey_by_token(token, s).state == "expired"
    with pytest.raises(csat.SurveyExpired):
        csat.answer_by_token(token, 5, "", s)
    assert Survey.get().answered_at is None


def test_unknown_forged_and_malformed_tokens_are_not_found(backend, site, relay):
    s, o = site
    _, token = mailed_token(s, o, relay)
    stored = Survey.get().token_hash
    for forged in ("", token[:-1] + ("A" if token[-1] != "A" else "B"), stored,
                   "x" * 5000, "../../etc/passwd", token.upper() if token.upper() != token else "Z"):
        with pytest.raises(NotFound):
            csat.survey_by_token(forged, s)
        with pytest.raises(NotFound):
            csat.answer_by_token(forged, 5, "", s)


def test_a_retried_send_mints_a_new_link_and_the_old_one_dies(backend, site, relay):
    s, o = site
    _, token = mailed_token(s, o, relay)
    row = MailMessage.get(MailMessage.kind.startswith("csat:"))
    from appliance.services.mail_outbound_message import build_message
    msg = build_message(row, s)
    fresh = {t for t, _ in LINK.findall(msg.get_body(("plain",)).get_content())}
    assert len(fresh) == 1 and token not in fresh
    with pytest.raises(NotFound):
        csat.survey_by_token(token, s)
    assert csat.survey_by_token(fresh.pop(), s).state == "open"


def test_a_bad_rating_within_the_window_reopens_the_ticket_with_the_comment(
        backend, site, relay):
    s, o = site
    ticket_id, token = mailed_token(s, o, relay)
    csat.answer_by_token(token, "1", "还是打不出来", s)
    t = Ticket.get_by_id(ticket_id)
    assert t.status == "open" and t.resolved_at is None
    assert Survey.get().follow_up_id == ticket_id
    detail = tickets.get_ticket(o.agent, ticket_id, s)
    assert any("还是打不出来" in c.body and c.author_kind == "customer" for c in detail.comments)
    kinds = [e.kind for e in TimelineEvent.select().where(TimelineEvent.ticket == ticket_id)]
    assert "reopened" in kinds and "csat_follow_up" in kinds


def test_a_bad_rating_after_the_window_opens_a_linked_follow_up_in_the_department(
        backend, site, relay):
    s, o = site
    ticket_id, token = mailed_token(s, o, relay)
    Ticket.update(resolved_at=utcnow() - dt.timedelta(days=s.reopen_window_days + 1)).where(
        Ticket.id == ticket_id).execute()
    csat.answer_by_token(token, "2", "", s)
    follow = Survey.get().follow_up_id
    assert follow and follow != ticket_id
    new = Ticket.get_by_id(follow)
    old = Ticket.get_by_id(ticket_id)
    assert (new.department_id, new.customer_id) == (o.after_sales, o.customer.customer_id)
    assert old.number in new.description and old.status == "resolved"
    assert TicketLink.select().where((TicketLink.source == ticket_id) & (TicketLink.target == follow)
                                     & (TicketLink.kind == "related")).exists()
    # A comment given afterwards joins the follow-up.
    csat.comment_by_token(token, "等了两周", s)
    assert any("等了两周" in c.body for c in tickets.get_ticket(o.agent, follow, s).comments)


def test_good_ratings_and_follow_up_off_leave_the_ticket_alone(backend, site, relay):
    s, o = site
    ticket_id, token = mailed_token(s, o, relay)
    csat.answer_by_token(token, "3", "", s)
    assert Ticket.get_by_id(ticket_id).status == "resolved"
    off = with_settings(s, csat_follow_up=False)
    t2, token2 = mailed_token(off, o, relay, "第二张")
    csat.answer_by_token(token2, "1", "", off)
    assert Ticket.get_by_id(t2).status == "resolved" and Ticket.select().count() == 2


def test_the_portal_shows_the_customers_own_open_survey_only(backend, site, relay):
    s, o = site
    ticket_id = new_ticket(s, o)
    resolve(s, o, ticket_id)
    view = csat.pending_for_ticket(o.customer, ticket_id, s)
    assert view is not None and view.state == "open"
    with pytest.raises(NotFound):
        csat.pending_for_ticket(o.other_customer, ticket_id, s)
    with pytest.raises(NotFound):
        csat.answer_in_portal(o.other_customer, view.id, 5, "", s)
    assert csat.pending_for_ticket(o.agent, ticket_id, s) is None
    csat.answer_in_portal(o.customer, view.id, 4, "", s)
    assert Survey.get().answered_via == "portal"
    assert csat.pending_for_ticket(o.customer, ticket_id, s) is None
    with pytest.raises(csat.SurveyAnswered):
        csat.answer_in_portal(o.customer, view.id, 5, "", s)


def test_tokens_addresses_and_comments_stay_out_of_logs_and_job_arguments(
        backend, site, relay, caplog):
    s, o = site
    # The application's own loggers at every level (peewee's SQL echo is a debugging aid
    # that is off in production and would show any value).
    caplog.set_level(logging.DEBUG, logger="appliance")
    caplog.set_level(logging.INFO)
    _, token = mailed_token(s, o, relay)
    csat.answer_by_token(token, "1", "秘密评论 13812345678", s)
    # Every record but the test relay's own (aiosmtpd's "mail.log", the remote side).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert token not in logged and "zhangsan@example.com" not in logged and "秘密评论" not in logged
    for job in Job.select():
        assert isinstance(job.object_id, int) and token not in job.name


def _survey(o, ticket_id, rating, *, agent, category=None, department=None, days_ago=1):
    now = utcnow() - dt.timedelta(days=days_ago)
    Survey.create(kind="csat", ticket=ticket_id, resolved_at=now, customer=o.customer.customer_id,
                  department=department or o.after_sales, agent=agent, category=category,
                  created_at=now, expires_at=now + dt.timedelta(days=14), rating=rating,
                  answered_at=now if rating else None, comment="电话 13812345678" if rating == 1 else "")


def test_results_match_a_hand_computed_example_per_agent_team_and_category(backend, site):
    s, o = site
    t = new_ticket(s, o)
    cat = org.save_category(SYSTEM, "打印机").id
    team = Team.create(department=o.after_sales, name="维修组")
    TeamMember.create(team=team, user=o.agent.user_id)
    # 王芳: 5, 4, 1, unanswered -> sent 4, answered 3, avg 3.33, CSAT 2/3
    for r in (5, 4, 1, None):
        _survey(o, t, r, agent=o.agent.user_id, category=cat)
    # 陈主管: 3, 2 -> sent 2, answered 2, avg 2.5, CSAT 0
    for r in (3, 2):
        _survey(o, t, r, agent=o.supervisor.user_id)
    # Outside the range and in another department: never counted for the lead.
    _survey(o, t, 5, agent=o.agent.user_id, days_ago=60)
    _survey(o, t, 5, agent=o.agent2.user_id, department=o.logistics)
    rep = csat_report.results(o.supervisor)
    assert rep.overall == csat_report.Figures("", 6, 5, round(5 / 6, 4), 3.0, 0.4)
    by_agent = {f.key: f for f in rep.by_agent}
    assert by_agent["王芳"] == csat_report.Figures("王芳", 4, 3, 0.75, 3.33, round(2 / 3, 4))
    assert by_agent["陈主管"] == csat_report.Figures("陈主管", 2, 2, 1.0, 2.5, 0.0)
    assert [f.key for f in rep.by_team] == ["维修组"] and rep.by_team[0].sent == 4
    assert [(f.key, f.sent) for f in rep.by_category] == [("打印机", 3 + 1)]
    assert [c.rating for c in rep.comments] == [1]
    everyone = csat_report.results(o.admin)
    assert everyone.overall.sent == 7 and len(everyone.by_department) == 2


def test_results_refuse_agents_and_reversed_or_bad_ranges_with_the_field_named(backend, site):
    s, o = site
    with pytest.raises(PermissionDenied):
        csat_report.results(o.agent)
    with pytest.raises(PermissionDenied):
        csat_report.results(o.customer)
    with pytest.raises(ValidationError) as err:
        csat_report.results(o.supervisor, "2026-03-10", "2026-03-01")
    assert "end" in err.value.fields
    with pytest.raises(ValidationError) as err:
        csat_report.results(o.supervisor, "2026-13-01", "")
    assert "start" in err.value.fields
    rep = csat_report.results(o.supervisor, "2020-01-01", "2020-01-31")
    assert rep.empty and rep.overall.response_rate is None and rep.overall.csat is None


def test_comments_are_listed_only_for_tickets_the_reader_may_open(backend, site):
    s, o = site
    t = new_ticket(s, o)
    _survey(o, t, 1, agent=o.agent.user_id)
    Ticket.update(department=o.logistics).where(Ticket.id == t).execute()
    rep = csat_report.results(o.supervisor)
    assert rep.overall.answered == 1 and rep.comments == []


# -- NPS ---------------------------------------------------------------------------------

def _served(s, o, customer, resolved_at):
    data = tickets.TicketInput(subject="咨询", department_id=o.after_sales,
                               customer_id=customer.customer_id, assignee_id=o.agent.user_id)
    ticket_id = tickets.create_ticket(SYSTEM, data, s).summary.id
    resolve(s, o, ticket_id)
    Ticket.update(resolved_at=resolved_at).where(Ticket.id == ticket_id).execute()
    return ticket_id


NPS_LINK = re.compile(r"https://help\.example/survey/([A-Za-z0-9_-]+)\?r=(\d+)")


def test_nps_asks_recently_served_customers_once_per_period(backend, site, relay):
    s, o = site
    now = utcnow()
    _served(s, o, o.customer, now - dt.timedelta(days=3))
    _served(s, o, o.other_customer, now - dt.timedelta(days=s.nps_recent_days + 5))
    send_all()
    csat_mails = len(relay.messages)
    assert nps.send_due(s, now) == 1
    assert nps.send_due(s, now) == 0                       # the same day again: nothing
    [survey] = Survey.select().where(Survey.kind == "nps")
    assert (survey.customer_id, survey.department_id, survey.ticket_id) == (
        o.customer.customer_id, o.after_sales, None)
    assert send_all() == 1 and len(relay.messages) == csat_mails + 1
    text = relay.messages[-1].message.get_body(("plain",)).get_content()
    links = {int(r): t for t, r in NPS_LINK.findall(text)}
    assert sorted(links) == list(range(11)) and relay.messages[-1].rcpt_tos == ["zhangsan@example.com"]
    # Within the period nothing more; after it, served again recently: asked again.
    later = now + dt.timedelta(days=s.nps_period_days + 1)
    _served(s, o, o.customer, now + dt.timedelta(days=s.nps_period_days - 2))
    assert nps.send_due(s, now + dt.timedelta(days=s.nps_period_days - 1)) == 0
    _served(s, o, o.customer, later - dt.timedelta(days=1))
    assert nps.send_due(s, later) == 1
    assert nps.send_due(with_settings(s, nps_enabled=False), later) == 0


def test_an_nps_link_takes_0_to_10_once_and_opens_no_follow_up(backend, site, relay):
    s, o = site
    ticket_id = _served(s, o, o.customer, utcnow() - dt.timedelta(days=1))
    nps.send_due(s)
    send_all()
    token = NPS_LINK.findall(relay.messages[-1].message.get_body(("plain",)).get_content())[0][0]
    assert csat.survey_by_token(token, s).kind == "nps"
    with pytest.raises(ValidationError) as err:
        csat.answer_by_token(token, "11", "", s)
    assert "rating" in err.value.fields
    csat.answer_by_token(token, "0", "不会推荐", s)
    with pytest.raises(csat.SurveyAnswered):
        csat.answer_by_token(token, "10", "", s)
    assert Ticket.get_by_id(ticket_id).status == "resolved" and Ticket.select().count() == 1


def _nps(o, rating, department=None, days_ago=1):
    now = utcnow() - dt.timedelta(days=days_ago)
    Survey.create(kind="nps", customer=o.customer.customer_id, created_at=now,
                  department=department or o.after_sales, expires_at=now + dt.timedelta(days=14),
                  rating=rating, answered_at=now if rating is not None else None)


def test_nps_is_promoters_minus_detractors_by_hand(backend, site):
    s, o = site
    for r in (10, 9, 8, 6, 0, None):
        _nps(o, r)
    _nps(o, 0, department=o.logistics)      # not the lead's department
    rep = csat_report.results(o.supervisor)
    assert rep.nps == csat_report.NpsFigures(6, 5, 2, 1, 2, 0.0)
    _nps(o, 10)
    # promoters 3/6 = 50 %, detractors 2/6 = 33.3 % -> 16.7
    assert csat_report.results(o.supervisor).nps.score == 16.7
    # The administrator: 3 promoters, 3 detractors of 7 -> 0.0
    assert csat_report.results(o.admin).nps == csat_report.NpsFigures(8, 7, 3, 1, 3, 0.0)


def test_the_worker_asks_the_nps_question_as_a_daily_periodic_task(backend, site, relay):
    from appliance import tasks
    s, o = site
    _served(s, o, o.customer, utcnow() - dt.timedelta(days=1))
    huey = tasks.get_huey(s)
    due = {type(t).__name__: t for t in huey.read_periodic(dt.datetime(2026, 3, 2, 2, 23))}
    assert "gongdan.nps_send" not in {type(t).__name__ for t in
                                      huey.read_periodic(dt.datetime(2026, 3, 2, 3, 23))}
    huey.execute(due["gongdan.nps_send"])
    assert Survey.select().where(Survey.kind == "nps").count() == 1


def test_erasing_the_customer_clears_their_survey_comments_and_keeps_the_ratings(
        backend, site, relay):
    from appliance.services import erasure
    s, o = site
    _, token = mailed_token(s, o, relay)
    csat.answer_by_token(token, "4", "我的电话 13812345678", s)
    erasure.erase_customer(o.admin, o.customer.customer_id)
    survey = Survey.get()
    assert (survey.rating, survey.comment) == (4, "")


def test_clicks_racing_on_several_connections_record_one_rating(backend, site, relay):
    from tests.domain.test_dispatch_concurrency import run_together
    from appliance.db import database
    s, o = site
    _, token = mailed_token(s, o, relay)
    database.close()   # each thread brings its own connection
    outcomes: list = []
    errors = run_together(4, lambda i: outcomes.append(
        csat.answer_by_token(token, str(5 - i % 2), "", s).rating))
    assert len(outcomes) == 1 and len(errors) == 3
    assert all(isinstance(e, csat.SurveyAnswered) for e in errors)
    assert Survey.get().rating == outcomes[0]
