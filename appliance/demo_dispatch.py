"""Demo dispatch set-up: which skills each category needs, language skills, and the
departments' routing policies (escalation to the lead, overflow to a partner department)."""
from __future__ import annotations

from appliance.models import CategorySkill, DispatchPolicy, Skill, User
from appliance.rules import routing

# category key (as in demo_texts.CATEGORIES) -> (skill, minimum level)
CATEGORY_SKILLS = {
    "售后/维修": ("售后维修", 2), "售后/退换货": ("退换货", 2),
    "物流/配送延迟": ("物流查询", 1), "物流/地址变更": ("物流查询", 1),
    "账户/账户安全": ("账户安全", 2), "支付/退款": ("退款", 2), "财务/发票": ("发票", 2),
    "技术/网络": ("网络故障", 2), "服务/投诉": ("投诉处理", 2),
}
LANGUAGE_SKILLS = {"English": "en"}
# department -> (escalate after minutes, overflow department)
ESCALATION = {"CS": (30, "AS"), "AS": (30, None), "LOG": (45, None), "TECH": (30, None),
              "FIN": (60, None)}


def make_dispatch(depts: dict[str, int], categories: dict[str, tuple[int, str]]) -> None:
    for name, code in LANGUAGE_SKILLS.items():
        Skill.update(kind="language", language=code).where(Skill.name == name).execute()
    for key, (skill, level) in CATEGORY_SKILLS.items():
        skill_id = Skill.select(Skill.id).where(Skill.name == skill).scalar()
        if skill_id and key in categories:
            Skill.update(kind="category").where(Skill.id == skill_id).execute()
            CategorySkill.insert(category=categories[key][0], skill=skill_id,
                                 min_level=level).on_conflict_ignore().execute()
    for code, (minutes, overflow) in ESCALATION.items():
        if code not in depts:
            continue
        lead = (User.select(User.id).where((User.department == depts[code])
                                           & (User.role == "supervisor")).scalar())
        DispatchPolicy.insert(department=depts[code], strategy="skills",
                              weights=dict(routing.DEFAULT_WEIGHTS), channel_weights={},
                              priority_weights={"1": 2.0}, escalate_after_minutes=minutes,
                              lead=lead, overflow_department=depts.get(overflow) if overflow
                              else None).on_conflict_ignore().execute()
