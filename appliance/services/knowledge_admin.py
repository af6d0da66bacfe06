"""Knowledge-base administration: who reviews the articles of each category.

A category's reviewers (on it or the nearest ancestor that has any) approve, publish
and change its published articles; without any, supervisors and admins do (see
appliance/rules/knowledge.py). Only administrators change the list.
"""
from __future__ import annotations

from dataclasses import dataclass

from appliance import dto
from appliance.errors import NotFound, PermissionDenied, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Category, CategoryReviewer, User
from appliance.rules.access import STAFF, Actor
from appliance.services import common


@dataclass(frozen=True)
class CategoryReviewers:
    category: dto.Ref  # name = the category's path
    reviewers: list[dto.Ref]


def _require_admin(actor: Actor) -> None:
    if not actor.can("kb.admin"):
        raise PermissionDenied("administrators only")


def list_reviewers(actor: Actor) -> list[CategoryReviewers]:
    """Every category (by path) with its own reviewers (not the inherited ones)."""
    _require_admin(actor)
    by_category: dict[int, list[dto.Ref]] = {}
    rows = (CategoryReviewer.select(CategoryReviewer, User).join(User)
            .order_by(User.display_name, User.id))
    for r in rows:
        by_category.setdefault(r.category_id, []).append(dto.Ref(r.user.id, r.user.display_name))
    return [CategoryReviewers(dto.Ref(c.id, c.path or c.name), by_category.get(c.id, []))
            for c in Category.select().order_by(Category.path)]


def add_reviewer(actor: Actor, category_id, user_id) -> None:
    """Idempotent; the reviewer must be an active staff member."""
    _require_admin(actor)
    errors = {}
    category = common.exists(Category, category_id, "category_id") if category_id not in (None, "") else None
    if category is None:
        errors["category_id"] = "required"
    user = User.get_or_none(User.id == user_id) if str(user_id or "").isdigit() else None
    if user is None or user.role not in STAFF or not user.active:
        errors["user_id"] = "must be an active staff member"
    if errors:
        raise ValidationError(errors)
    with unit_of_work():
        if not CategoryReviewer.select().where((CategoryReviewer.category == category)
                                               & (CategoryReviewer.user == user.id)).exists():
            CategoryReviewer.create(category=category, user=user.id)


def remove_reviewer(actor: Actor, category_id, user_id) -> None:
    _require_admin(actor)
    with unit_of_work():
        n = CategoryReviewer.delete().where((CategoryReviewer.category == category_id)
                                            & (CategoryReviewer.user == user_id)).execute()
    if not n:
        raise NotFound("reviewer not found", category_id=category_id, user_id=user_id)
