"""The endpoint × role permission matrix: what each Flask endpoint requires, the gate that
enforces it for every request, and the generated docs/permission-matrix.md.

Every endpoint of the app must match a rule below (first match wins); an endpoint with
no rule is refused by the gate and fails tests/web/test_permission_matrix.py, so a new
page cannot ship without a line here. Services still decide per object (a ticket of
another department is a 404); this table says who may reach the endpoint at all
(docs/decisions/0029-roles-and-permissions.md).

Regenerate the document with `make permission-matrix` (the test writes it from a test
app) or, on an installed appliance, `python -m webapp.permission_matrix --write`.
"""
from __future__ import annotations

import fnmatch
import functools
import sys
from pathlib import Path

from flask import Flask, g, request

from appliance.errors import PermissionDenied
from appliance.rules.access import ROLE_PERMISSIONS
from webapp.client import client_address

PUBLIC = "public"            # anyone, logged in or not
LOGIN = "login"              # any logged-in user (their own account)
CUSTOMER = "customer"        # the portal: customers; staff are sent to their own queue
INTEGRATION = "integration"  # integration tokens only (webapp/api/intake.py), never a user's
ROLES = ("anonymous", "customer", "agent", "supervisor", "admin", "security_admin",
         "audit_admin")
STAFF_VIEW = "ticket.view"
DOC = Path(__file__).resolve().parent.parent / "docs" / "permission-matrix.md"

# (endpoint pattern, requirement): a requirement is one of the words above, a permission,
# or a tuple of permissions of which any one will do. Order matters: first match wins.
RULES: tuple[tuple[str, object], ...] = (
    ("static", PUBLIC),
    ("health.*", PUBLIC),
    ("home.*", PUBLIC),
    ("forms.*", PUBLIC),
    ("survey.*", PUBLIC),   # survey links: the token is the credential (decision 0037)
    ("account.login", PUBLIC),
    ("account.logout", PUBLIC),
    ("account.second_step", PUBLIC),  # the login's second factor (a pending session)
    ("account.*", LOGIN),
    ("portal.signup", PUBLIC),
    ("portal.*", CUSTOMER),
    # --- administration: each area is one administrator's job -----------------------
    ("admin.index", ("config.manage", "org.manage", "user.manage", "role.manage",
                     "role.assign")),
    ("admin.roles.index", ("role.manage", "role.assign")),
    ("admin.roles.people", "role.assign"),
    ("admin.roles.assign", "role.assign"),
    ("admin.roles.unlock", "session.manage"),
    ("admin.roles.end_sessions", "session.manage"),
    ("admin.roles.*", "role.manage"),
    ("admin.security.*", "security.policy"),
    ("admin.backups.*", "backup.run"),
    ("admin.users.*", "user.manage"),
    ("admin.departments.*", "org.manage"),
    ("admin.skills.*", "org.manage"),
    ("admin.categories.*", "org.manage"),
    ("admin.fields.*", "org.manage"),
    ("admin.ai.*", "ai.admin"),
    ("admin.processes.*", "process.admin"),
    ("admin.sla.*", "config.manage"),
    ("admin.quality.*", "config.manage"),   # quality inspection rules (decision 0039)
    ("admin.followups.*", "config.manage"),   # follow-up visit rules (decision 0038)
    ("admin.kb.*", "kb.admin"),
    ("admin.*", "config.manage"),
    ("audit.*", "audit.read"),
    # --- the agent workspace ----------------------------------------------------------
    ("agent.board", "report.view"),
    ("agent.board_json", "report.view"),
    ("agent.kb_metrics", "report.view"),
    ("agent.csat_results", "report.view"),
    ("agent.quality_queue", "report.view"),   # quality inspection (decision 0039)
    ("agent.quality_adjust", "report.view"),
    ("agent.quality_resolve", "report.view"),
    ("agent.quality_*", STAFF_VIEW),   # own scores, appeals, summary: the service scopes
    ("agent.follow_up_results", "report.view"),
    ("agent.follow_up*", STAFF_VIEW),   # visits: the service checks the ticket (decision 0038)
    ("agent.reports_*", "report.view"),   # dashboard, drill-down, exports, schedules (0041)
    ("agent.process_monitor", "process.admin"),
    ("agent.retry_process", "process.admin"),
    ("agent.customer_new", "customer.edit"),
    ("agent.customer_edit", "customer.edit"),
    ("agent.customer_merge_post", "customer.merge"),
    ("agent.customer_erase", "customer.erase"),
    ("agent.customer_export_post", "customer.export"),
    ("agent.customer*", "customer.view"),
    ("agent.kb_review", "kb.edit"),
    ("agent.kb_merge", "kb.view"),  # reading; deciding needs kb.review (the service)
    ("agent.kb_suggestions", ("kb.view", STAFF_VIEW)),
    ("agent.kb_list", "kb.view"),
    ("agent.kb_article", "kb.view"),
    ("agent.kb_version", "kb.view"),
    ("agent.kb_file", "kb.view"),
    ("agent.kb_*", "kb.edit"),
    ("agent.*", STAFF_VIEW),
    # --- the REST API (bearer tokens) ---------------------------------------------------
    ("api.openapi_document", PUBLIC),
    ("api.intake_*", INTEGRATION),
    ("api.me", LOGIN),
    ("api.list_tokens", LOGIN),
    ("api.revoke_token", LOGIN),
    ("api.admin_*", "config.manage"),
    ("api.supervisor_*", "report.view"),
    ("api.kb_metrics", "report.view"),
    ("api.reports_csat", "report.view"),
    ("api.reports_follow_ups", "report.view"),
    # agents: their own quality scores only (the service narrows them); customers: none
    ("api.reports_quality", STAFF_VIEW),
    # agents: their own figures only (the service narrows the filter); customers: none
    ("api.reports_dashboard*", STAFF_VIEW),
    ("api.kb_article_deflection", "portal.use"),
    ("api.*_process_definition*", "process.admin"),
    ("api.*_process_draft", "process.admin"),
    ("api.*_process_versions", "process.admin"),
    ("api.publish_process", "process.admin"),
    ("api.retire_process", "process.admin"),
    ("api.export_process", "process.admin"),
    ("api.import_process", "process.admin"),
    ("api.list_process_instances", "process.admin"),
    ("api.retry_process_instance", "process.admin"),
    # staff-only parts of the API (customers use tickets, comments, search, articles)
    ("api.list_customers", "customer.view"),
    ("api.update_customer", "customer.edit"),
    ("api.list_users", STAFF_VIEW),
    ("api.update_ticket", STAFF_VIEW),
    ("api.*_triage", STAFF_VIEW),
    ("api.*_my_presence", STAFF_VIEW),
    ("api.take_my_next_ticket", STAFF_VIEW),
    ("api.get_my_dispatch_profile", STAFF_VIEW),
    ("api.ticket_routing", STAFF_VIEW),
    ("api.link_ticket", STAFF_VIEW),
    ("api.unlink_ticket", STAFF_VIEW),
    ("api.create_kb_article", "kb.edit"),
    ("api.update_kb_article", "kb.edit"),
    ("api.delete_kb_article", "kb.edit"),
    ("api.merge_customer", "customer.merge"),
    ("api.kb_article_action", "kb.edit"),
    ("api.kb_article_rollback", "kb.edit"),
    ("api.kb_review_queue", "kb.edit"),
    ("api.list_roles", ("role.manage", "role.assign")),
    ("api.assign_role", "role.assign"),
    ("api.create_role", "role.manage"),
    ("api.get_role", "role.manage"),
    ("api.update_role", "role.manage"),
    ("api.delete_role", "role.manage"),
    ("api.*", ("portal.use", STAFF_VIEW)),
    ("live.*", ("portal.use", STAFF_VIEW)),
)


@functools.lru_cache(maxsize=2048)  # endpoints are a fixed set: match each once
def requirement(endpoint: str):
    for pattern, req in RULES:
        if fnmatch.fnmatchcase(endpoint, pattern):
            return req
    raise LookupError(f"no access rule for endpoint {endpoint!r} in webapp/permission_matrix.py")


def permits(permissions: frozenset[str], req) -> bool:
    if req in (PUBLIC, LOGIN):
        return True
    if req == CUSTOMER:
        return "portal.use" in permissions
    if req == INTEGRATION:
        return False
    wanted = (req,) if isinstance(req, str) else tuple(req)
    return any(p in permissions for p in wanted)


def expected(endpoint: str, role: str) -> str:
    """allowed | denied | login | redirect for a built-in role (or "anonymous")."""
    req = requirement(endpoint)
    if req == PUBLIC:
        return "allowed"
    if role == "anonymous" or req == INTEGRATION:
        return "login"
    if req == CUSTOMER and role != "customer":
        return "redirect"
    return "allowed" if permits(ROLE_PERMISSIONS[role], req) else "denied"


# --- the gate ------------------------------------------------------------------------------

REFUSED = "your role does not permit this"
# Where a service said it better before the gate existed, the gate says the same.
REFUSALS = {"agent.board": "only supervisors and administrators may see the dispatch board",
            "agent.board_json": "only supervisors and administrators may see the dispatch board"}


def _gate():
    """Refuse an endpoint whose rule the logged-in actor does not meet (403), with an
    audit record for the administration areas. Anonymous callers are left to each
    blueprint (a login redirect on pages, 401 on the API)."""
    actor = g.get("actor")
    endpoint = request.endpoint
    if actor is None or endpoint is None:
        return None
    try:
        req = requirement(endpoint)
    except LookupError:  # an endpoint nobody gave a rule: closed until someone does
        raise PermissionDenied(REFUSED) from None
    if req in (PUBLIC, LOGIN, CUSTOMER, INTEGRATION) or permits(actor.permissions, req):
        return None
    if endpoint.startswith(("admin.", "audit.")):
        from appliance.services import audit
        audit.record("access.denied", actor_id=actor.user_id, ip=client_address(),
                     object_type="endpoint", object_id=endpoint, result="denied",
                     detail={"method": request.method})
    raise PermissionDenied(REFUSALS.get(endpoint, REFUSED))


def init_app(app: Flask) -> None:
    """After the blueprints: app-level pages have their actor from webapp.auth; the API
    and live streams load theirs in their own hooks, so the gate runs after those."""
    app.before_request(_gate)
    for name in ("api", "live"):
        app.before_request_funcs.setdefault(name, []).append(_gate)


# --- the document --------------------------------------------------------------------------

MARKS = {"allowed": "✓", "denied": "✗", "login": "login", "redirect": "→ own home"}


def rows(app: Flask) -> list[tuple[str, str, str, str]]:
    """(endpoint, methods, path, requirement text) for every endpoint, sorted."""
    out = []
    for rule in app.url_map.iter_rules():
        methods = ",".join(sorted(m for m in rule.methods if m not in ("HEAD", "OPTIONS")))
        req = requirement(rule.endpoint)
        out.append((rule.endpoint, methods, rule.rule,
                    req if isinstance(req, str) else " or ".join(req)))
    return sorted(out)


def render(app: Flask) -> str:
    head = ["# Permission matrix (generated)", "",
            "Generated by `make permission-matrix` from the rules in",
            "webapp/permission_matrix.py; tests/web/test_permission_matrix.py requests every",
            "endpoint as every role and checks the result. Do not edit by hand.", "",
            "✓ allowed · ✗ refused (403; an object outside one's scope is 404) · login: sent",
            "to the login page (401 on the API) · → own home: the portal sends staff to their",
            "queue. Services still check each object (department scope).", "",
            "| endpoint | methods | path | requires | " + " | ".join(ROLES) + " |",
            "|---" * (4 + len(ROLES)) + "|"]
    body = [f"| {ep} | {m} | `{path}` | {req} | "
            + " | ".join(MARKS[expected(ep, r)] for r in ROLES) + " |"
            for ep, m, path, req in rows(app)]
    return "\n".join(head + body) + "\n"


def main(argv: list[str]) -> int:
    from webapp import create_app
    text = render(create_app())
    if "--write" in argv:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
