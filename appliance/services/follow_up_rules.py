"""Follow-up visit rules (回访规则, docs/decisions/0038): the administrator's configuration of
which resolutions get a visit, after how long, with which script and by whom.

A rule is checked whole on save and refused with every problem named by field: bad
values, a rule that contradicts itself (listed customers who carry none of its tags, a
pool department with "the resolving agent"), and a rule that overlaps another active
rule (rules.follow_up.overlap), so each resolution matches at most one rule.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appliance import dto
from appliance.errors import Conflict, NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Category, Customer, Department, FollowUpRule, Team, utcnow
from appliance.rules import follow_up as rules
from appliance.rules.access import Actor
from appliance.services import common

MAX_SCRIPT = 10_000
MAX_LIST = 200
FIELDS = ("name", "active", "category_ids", "customer_tags", "customer_ids", "delay_minutes",
          "business_time", "script", "assign_to", "pool_department_id", "pool_team_id",
          "max_attempts", "retry_minutes")


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    active: bool
    category_ids: list[int]
    customer_tags: list[str]
    customer_ids: list[int]
    delay_minutes: int
    business_time: bool
    script: str
    assign_to: str
    pool_department: dto.Ref | None
    pool_team: dto.Ref | None
    max_attempts: int
    retry_minutes: int
    version: int


def require_admin(actor: Actor) -> None:
    if not actor.can("config.manage"):
        raise PermissionDenied("follow-up rules are for administrators")


def _view(r: FollowUpRule) -> RuleView:
    dept, team = r.pool_department, r.pool_team
    return RuleView(r.id, r.name, r.active, list(r.category_ids), list(r.customer_tags),
                    list(r.customer_ids), r.delay_minutes, r.business_time, r.script,
                    r.assign_to, dto.Ref(dept.id, dept.name) if dept else None,
                    dto.Ref(team.id, team.name) if team else None,
                    r.max_attempts, r.retry_minutes, r.version)


def list_rules(actor: Actor) -> list[RuleView]:
    require_admin(actor)
    return [_view(r) for r in FollowUpRule.select().order_by(FollowUpRule.name)]


def team_choices(actor: Actor) -> list[tuple[int, str]]:
    """(id, "department / team") of every team, for the form's team choice."""
    require_admin(actor)
    rows = (Team.select(Team.id, Team.name, Department.name.alias("dept"))
            .join(Department, on=(Team.department == Department.id))
            .order_by(Department.name, Team.name).dicts())
    return [(r["id"], f'{r["dept"]} / {r["name"]}') for r in rows]


def get_rule(actor: Actor, rule_id) -> RuleView:
    require_admin(actor)
    return _view(_row(rule_id))


def _row(rule_id) -> FollowUpRule:
    try:
        pk = int(rule_id)
    except (TypeError, ValueError):
        raise NotFound("follow-up rule not found") from None
    r = FollowUpRule.get_or_none(FollowUpRule.id == pk)
    if r is None:
        raise NotFound("follow-up rule not found", id=pk)
    return r


def facts(r: FollowUpRule) -> rules.RuleFacts:
    return rules.RuleFacts(r.id, r.name, frozenset(r.category_ids),
                           frozenset(r.customer_tags), frozenset(r.customer_ids), r.active)


# ---------------------------------------------------------------- checks

def _ids(value, field: str, model) -> list[int]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST:
        raise ValidationError({field: f"must be a list of at most {MAX_LIST} ids"})
    ids = sorted({common.exists(model, v, field) for v in value})
    return ids


def _tags(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST:
        raise ValidationError({"customer_tags": f"must be a list of at most {MAX_LIST} tags"})
    return sorted({common.clean_text(v, "customer_tags", max_len=64, single_line=True).casefold()
                   for v in value} - {""})


def _int(value, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: "must be a whole number"}) from None
    if not low <= number <= high:
        raise ValidationError({field: f"must be from {low} to {high}"})
    return number


def _bool(value) -> bool:
    return value in (True, 1, "1", "true", "on", "yes")


def _clean(data: dict) -> dict:
    unknown = sorted(set(data) - set(FIELDS) - {"expected_version"})
    if unknown:
        raise ValidationError({k: "unknown field" for k in unknown})
    values = common.check_all({
        "name": lambda: common.clean_text(data.get("name"), "name", required=True, max_len=100,
                                          single_line=True),
        "category_ids": lambda: _ids(data.get("category_ids"), "category_ids", Category),
        "customer_tags": lambda: _tags(data.get("customer_tags")),
        "customer_ids": lambda: _ids(data.get("customer_ids"), "customer_ids", Customer),
        "delay_minutes": lambda: _int(data.get("delay_minutes", 1440), "delay_minutes", 0,
                                      rules.MAX_DELAY_MINUTES),
        "script": lambda: common.clean_text(data.get("script"), "script", required=True,
                                            max_len=MAX_SCRIPT),
        "assign_to": lambda: _choice(data.get("assign_to") or "resolver"),
        "pool_department": lambda: common.exists(Department, data.get("pool_department_id"),
                                                 "pool_department_id"),
        "pool_team": lambda: common.exists(Team, data.get("pool_team_id"), "pool_team_id"),
        "max_attempts": lambda: _int(data.get("max_attempts", 3), "max_attempts", 1,
                                     rules.MAX_ATTEMPTS),
        "retry_minutes": lambda: _int(data.get("retry_minutes", 240), "retry_minutes", 1,
                                      rules.MAX_RETRY_MINUTES)})
    values["active"] = _bool(data.get("active", True))
    values["business_time"] = _bool(data.get("business_time", False))
    return values


def _choice(value) -> str:
    if value not in rules.ASSIGN_TO:
        raise ValidationError({"assign_to": "must be one of " + ", ".join(rules.ASSIGN_TO)})
    return value


def _contradictions(values: dict) -> dict:
    """Problems of the rule with itself."""
    errors = {}
    if not any(values[d] for d in rules.DIMENSIONS):
        errors["category_ids"] = ("set at least one of category_ids, customer_tags, "
                                  "customer_ids (a rule for every ticket is not a selection)")
    if values["assign_to"] != "department" and values["pool_department"]:
        errors["pool_department_id"] = "only with assign_to department"
    if values["assign_to"] == "team" and not values["pool_team"]:
        errors["pool_team_id"] = "required when a team calls"
    elif values["assign_to"] != "team" and values["pool_team"]:
        errors["pool_team_id"] = "only with assign_to team"
    if values["customer_ids"] and values["customer_tags"]:
        tags = set(values["customer_tags"])
        for c in Customer.select(Customer.id, Customer.tags).where(
                Customer.id.in_(values["customer_ids"])):
            if not tags & {str(t).strip().casefold() for t in c.tags or ()}:
                errors["customer_ids"] = (f"customer {c.id} carries none of customer_tags: "
                                          "the rule could never match them")
                break
    return errors


def _overlaps(candidate: rules.RuleFacts) -> dict:
    from appliance.services.sla_config import category_parents
    parents = category_parents()
    for other in FollowUpRule.select().where(FollowUpRule.active == True):  # noqa: E712
        field = rules.overlap(candidate, facts(other), parents)
        if field:
            return {field: f"overlaps the active rule \"{other.name}\": a ticket could match "
                           "both; make the categories, customer tags or customers disjoint"}
    return {}


# ---------------------------------------------------------------- writing

def save_rule(actor: Actor, rule_id, data: dict) -> RuleView:
    """Create (rule_id None) or replace a rule; ValidationError naming every problem."""
    require_admin(actor)
    values = _clean(data)
    errors = _contradictions(values)
    with unit_of_work():
        row = _row(rule_id) if rule_id is not None else None
        if row is not None and data.get("expected_version") not in (None, "") and \
                str(data["expected_version"]) != str(row.version):
            raise Conflict("the rule was changed by someone else; reload and try again")
        same_name = FollowUpRule.select(FollowUpRule.id).where(FollowUpRule.name == values["name"])
        if row is not None:
            same_name = same_name.where(FollowUpRule.id != row.id)
        if same_name.exists():
            errors.setdefault("name", "another rule has this name")
        candidate = rules.RuleFacts(row.id if row else 0, values["name"],
                                    frozenset(values["category_ids"]),
                                    frozenset(values["customer_tags"]),
                                    frozenset(values["customer_ids"]), values["active"])
        if not errors:
            errors = _overlaps(candidate)
        if errors:
            raise ValidationError(errors)
        row = _write(row, values, utcnow())
    return _view(FollowUpRule.get_by_id(row.id))


def _write(row: FollowUpRule | None, values: dict, now: dt.datetime) -> FollowUpRule:
    if row is None:
        return FollowUpRule.create(**values, created_at=now, updated_at=now)
    n = (FollowUpRule.update(**values, updated_at=now, version=FollowUpRule.version + 1)
         .where((FollowUpRule.id == row.id) & (FollowUpRule.version == row.version)).execute())
    if n != 1:
        raise Conflict("the rule was changed by someone else; reload and try again")
    return row


def delete_rule(actor: Actor, rule_id) -> None:
    """Scheduled visits keep their copy of the script; new resolutions no longer match."""
    require_admin(actor)
    with unit_of_work():
        FollowUpRule.delete().where(FollowUpRule.id == _row(rule_id).id).execute()
