"""Demo SLA policies (issue 10): what a site might start from, on the default calendar
that migration 0020 created (Mon–Fri office hours in Shanghai with Chinese holidays).
VIP customers first, then P1 and P2, then everything else; warnings at 75 and 90%, the
department lead told at 90% and on a breach. Skips any policy name that exists."""
from __future__ import annotations

from appliance.models import SlaPolicy
from appliance.rules.access import SYSTEM
from appliance.services import sla_config

LEAD = [{"at": 90, "action": "notify_lead"}, {"at": 100, "action": "notify_lead"}]
POLICIES = (
    # name, order, conditions, first response, next response, resolution (business minutes)
    ("VIP 客户", 5, {"tiers": ["vip"]}, 30, 60, 480),
    ("P1 紧急", 10, {"priorities": [1]}, 60, 120, 960),
    ("P2 高", 20, {"priorities": [2]}, 120, 240, 1440),
    ("标准 Standard", 90, {}, 240, 480, 2880),
)


def make_sla() -> int:
    """Create the demo policies; returns how many were created."""
    made = 0
    for name, order, conditions, first, nxt, resolution in POLICIES:
        if SlaPolicy.select().where(SlaPolicy.name == name).exists():
            continue
        sla_config.save_policy(SYSTEM, None, {
            "name": name, "order": order, **conditions, "first_response_minutes": first,
            "next_response_minutes": nxt, "resolution_minutes": resolution,
            "warn_at": [75, 90], "escalations": LEAD})
        made += 1
    return made
