"""The OpenAPI document matches the API: every route is documented (and nothing else), and
schemathesis drives every operation with generated requests (valid and invalid) as an
admin, checking that no request causes a server error and that every response has a
documented status, content type and body shape.

Each operation runs against its own fresh database with a few seeded objects, so ids 1
and 2 mostly exist and generated requests reach the services, not only the 404 path.
"""
from __future__ import annotations

import copy
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from appliance.services import comments, knowledge, knowledge_review, links, org, users
from appliance.services.attachments import Upload
from tests.factories import actor, make_org, ticket
from webapp import create_app
from webapp.api.openapi import DOCUMENT

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config.update(TESTING=True)
    return app


def seed(settings) -> str:
    """A small organisation with tickets, a conversation and links; returns an admin token."""
    o = make_org()
    first = ticket(settings, o.customer, "打印机无法打印")
    second = ticket(settings, o.admin, "<script>alert(1)</script> 物流延误",
                    department_id=o.after_sales, customer_id=o.customer.customer_id)
    ticket(settings, o.agent2, "Logistics only", department_id=o.logistics)
    comments.add_comment(o.agent, first.summary.id, "我们来处理", settings,
                         uploads=[Upload("screen.png", PNG)])
    comments.add_comment(o.agent, first.summary.id, "internal note", settings, internal=True)
    links.link_tickets(o.admin, first.summary.id, second.summary.id, "related", settings)
    org.save_category(o.admin, "硬件")
    org.save_custom_field(o.admin, "order_no", "Order number", "text")
    from tests.process_helpers import seed_for_contract
    seed_for_contract(o)
    seed_knowledge(o)
    users.create_api_token(actor("wangfang"), "someone else's token")  # token id 1
    return users.create_api_token(o.admin, "contract test")[1]


def seed_knowledge(o) -> None:
    """Article 1 published and public with two versions, 2 its English draft translation."""
    a = knowledge.create_article(o.agent, knowledge.ArticleInput(
        title="打印机卡纸", body="1. 打开前盖\n2. 取出纸张", visibility="public", tags=["打印机"]))
    knowledge.update_article(o.agent, a.id, knowledge.ArticleInput(
        title="打印机卡纸", body="1. 关机\n2. 打开前盖\n3. 取出纸张", visibility="public"))
    for action in ("submit", "approve"):
        knowledge_review.transition(o.admin, a.id, action)
    knowledge.create_article(o.agent, knowledge.ArticleInput(
        title="Paper jam", body="Open the front cover.", language="en", translation_of=a.id))


@pytest.fixture
def admin_token(app, settings):
    return seed(settings)


@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_every_operation_behaves_as_the_document_says(case, app, admin_token):
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {admin_token}"},
                           checks=CHECKS)


def _rule_to_path(rule: str) -> str:
    path = rule.removeprefix("/api/v1")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


def test_every_api_route_is_documented_and_every_documented_operation_exists(app):
    routes = {(_rule_to_path(r.rule), m.lower()) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/v1/") for m in r.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item}
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations without a route"


def test_the_document_is_served_without_a_token_and_names_the_bearer_scheme(app):
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["openapi"].startswith("3.1")
    assert body["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for name in ("Ticket", "TicketDetail", "Comment", "Attachment", "Event", "Link", "Customer",
                 "User", "Department", "Category", "CustomField", "Error", "Page"):
        assert name in body["components"]["schemas"], name


def test_every_operation_documents_its_error_responses():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            if operation.get("security") != []:
                assert "401" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, (method, path)
