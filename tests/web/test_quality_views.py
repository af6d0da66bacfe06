"""Quality inspection through the Flask test client: an agent's own scores and appeal,
the supervisor's queue, review with a mandatory comment, the appeal decision, the
summary page's scope and errors, the admin settings form's field errors, and the
endpoints refused to roles without the permission."""
from __future__ import annotations

import re

import pytest

from appliance import jobs
from appliance.models import Job, QualityInspection
from appliance.rules.access import SYSTEM
from appliance.services import comments, quality_config, tickets

BAD = "你自己看说明书。我们保证明天全额退款。身份证 11010519491231002X"


@pytest.fixture
def inspection(settings, org):
    data = tickets.TicketInput(subject="打印机无法打印", department_id=org.after_sales,
                               customer_id=org.customer.customer_id, assignee_id=org.agent.user_id)
    t = tickets.create_ticket(SYSTEM, data, settings).summary.id
    cid = comments.add_comment(org.agent, t, BAD, settings).id
    for j in list(Job.select().where(Job.name.in_(("quality_score", "quality_rubric")))
                  .order_by(Job.id)):
        jobs.run_job(j.id)
    return QualityInspection.get(QualityInspection.comment == cid)


def test_an_agent_sees_the_masked_findings_and_appeals_once(login, inspection):
    b = login("wangfang")
    html = b.get("/agent/quality").get_data(as_text=True)
    assert f'id="quality-row-{inspection.id}"' in html and 'id="nav-quality"' in html
    r = b.get(f"/agent/quality/{inspection.id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "110105**********2X" in html
    assert html.count("11010519491231002X") == 1            # the reply itself, not a finding
    assert 'id="quality-appeal-form"' in html and 'id="quality-adjust-form"' not in html
    r = b.post(f"/agent/quality/{inspection.id}/appeal", {"reason": " "},
               csrf_from=f"/agent/quality/{inspection.id}")
    assert r.status_code == 400 and 'id="quality-error-reason"' in r.get_data(as_text=True)
    r = b.post(f"/agent/quality/{inspection.id}/appeal", {"reason": "客户要求直接说明"},
               csrf_from=f"/agent/quality/{inspection.id}")
    assert r.status_code == 302
    r = b.post(f"/agent/quality/{inspection.id}/appeal", {"reason": "再来一次"},
               csrf_from=f"/agent/quality/{inspection.id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="quality-error-appeal"' in html
    assert "one appeal per inspection" in html


def test_a_supervisor_reviews_with_a_comment_and_decides_the_appeal(login, org, inspection):
    agent = login("wangfang")
    agent.post(f"/agent/quality/{inspection.id}/appeal", {"reason": "问候在第二句"},
               csrf_from=f"/agent/quality/{inspection.id}")
    lead = login("lead")
    html = lead.get("/agent/quality/queue").get_data(as_text=True)
    assert f'id="queue-row-{inspection.id}"' in html
    page = f"/agent/quality/{inspection.id}"
    html = lead.get(page).get_data(as_text=True)
    assert 'id="quality-resolve-form"' in html
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    r = lead.post(f"{page}/resolve", {"outcome": "upheld", "comment": "", "item_greeting": "5",
                                      "version": version}, csrf_from=page)
    assert r.status_code == 400 and 'id="quality-error-comment"' in r.get_data(as_text=True)
    r = lead.post(f"{page}/resolve", {"outcome": "upheld", "comment": "成立", "item_greeting": "19",
                                      "version": version}, csrf_from=page)
    assert r.status_code == 400 and 'id="resolve-err-greeting"' in r.get_data(as_text=True)
    r = lead.post(f"{page}/resolve", {"outcome": "upheld", "comment": "成立", "item_greeting": "5",
                                      "version": version}, csrf_from=page)
    assert r.status_code == 302
    ins = QualityInspection.get_by_id(inspection.id)
    assert ins.appeal_state == "upheld" and ins.adjusted == {"greeting": 5.0}
    assert ins.score == inspection.score and ins.adjusted_score > ins.score
    html = agent.get(page).get_data(as_text=True)
    assert 'id="quality-appeal-form"' not in html and "成立" in html


def test_other_agents_and_departments_get_not_found_and_agents_no_queue(login, inspection):
    assert login("lilei").get(f"/agent/quality/{inspection.id}").status_code == 404
    agent = login("wangfang")
    assert agent.get("/agent/quality/queue").status_code == 403
    r = agent.post(f"/agent/quality/{inspection.id}/adjust", {"comment": "我自己改"},
                   csrf_from="/agent/quality")
    assert r.status_code == 403


def test_the_summary_page_shows_weekly_averages_and_names_a_bad_date(login, inspection):
    lead = login("lead")
    html = lead.get("/agent/quality/summary").get_data(as_text=True)
    assert "王芳" in html and str(inspection.score) in html
    r = lead.get("/agent/quality/summary?date_from=31.12.2026")
    assert r.status_code == 400 and 'id="quality-error-date_from"' in r.get_data(as_text=True)
    html = login("wangfang").get("/agent/quality/summary").get_data(as_text=True)
    assert "王芳" in html


def test_the_admin_form_names_bad_fields_and_saves_a_new_version(login, org):
    admin = login("admin")
    page = "/admin/quality/"
    html = admin.get(page).get_data(as_text=True)
    assert 'id="quality-settings-form"' in html
    form = dict(re.findall(r'<input type="text" name="([^"]+)" value="([^"]*)"', html))
    form.update(dict(re.findall(r'<input type="number" name="([^"]+)" value="([^"]*)"', html)))
    form.update({"enabled": "1", "business_time": "1", "version": "0",
                 "forbidden_words": "不知道\n你自己看", "promise_words": "保证",
                 "forbidden_patterns": "(a+)+$", "greetings.zh": "您好", "greetings.en": "hello",
                 "closings.zh": "祝您", "closings.en": "regards", "weights.empathy": "30"})
    r = admin.post(page, form, csrf_from=page)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="err-forbidden_patterns"' in html
    assert 'id="err-weights"' in html and quality_config.current().version == 0
    form.update({"forbidden_patterns": r"赔\s*\d+\s*倍", "weights.empathy": "5"})
    r = admin.post(page, form, csrf_from=page)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    saved = quality_config.current()
    assert saved.version == 1 and saved.settings.rules.forbidden_patterns == (r"赔\s*\d+\s*倍",)
    assert saved.settings.rules.greetings["zh"] == ("您好",)


def test_non_administrators_cannot_open_the_settings(login):
    for user in ("lead", "wangfang"):
        assert login(user).get("/admin/quality/").status_code == 403
