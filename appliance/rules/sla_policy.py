"""Which SLA policy a ticket gets, and what is wrong with a set of policies (pure;
docs/decisions/0036).

A policy matches on four dimensions — priority, category (a category also covers its
sub-categories), customer tier and channel; an empty set means "any". Policies are tried
in `order` (lowest first, then id) and the first active one that matches wins, so a
specific policy goes before a catch-all.

`problems` rejects what would make the outcome surprising: targets out of order
(resolution shorter than the first response), warning thresholds outside 1–99, two
active policies of the same order that can match one ticket with different targets,
and a policy that can never match because an earlier one covers every ticket it would.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from appliance.rules.business_calendar import Problem
from appliance.rules.sla import SlaTargets
from appliance.rules.states import CHANNELS, PRIORITIES

CLOCKS = ("first_response", "next_response", "resolution")
ACTIONS = ("notify_lead", "raise_priority", "reassign")
BREACH = 100                     # an escalation "at 100" runs when the clock breaches
MAX_TARGET_MINUTES = 366 * 24 * 60
DEFAULT_TIER = "standard"

MESSAGES: dict[str, str] = {
    "name_required": "give the policy a name",
    "no_targets": "set at least one of the first-response, next-response and resolution targets",
    "bad_target": "a target is a whole number of minutes from 1 to %(max)s",
    "targets_order": "the %(longer)s target (%(a)s min) is longer than the resolution target "
                     "(%(b)s min)",
    "bad_warning": "warning thresholds are distinct percentages from 1 to 99",
    "bad_priority": "priorities are 1, 2, 3 or 4",
    "bad_channel": "channels are %(channels)s",
    "bad_tier": "a tier is a short word such as standard or vip",
    "unknown_category": "category %(id)s does not exist",
    "bad_order": "the order is a whole number from 0 to 9999",
    "bad_escalation_at": "an escalation runs at one of the policy's warning thresholds "
                         "(%(thresholds)s) or at 100 (breach)",
    "bad_escalation_action": "an escalation action is notify_lead, raise_priority or reassign",
    "reassign_target": "reassign names exactly one agent or one team",
    "policy_conflict": "“%(other)s” has the same order and can match the same tickets with "
                       "different targets; give one of them another order",
    "policy_unreachable": "never used: “%(other)s” comes first and matches every ticket "
                          "this policy would",
}


@dataclass(frozen=True)
class Escalation:
    at: int                          # a warning threshold (percent) or 100 = breach
    action: str                      # notify_lead | raise_priority | reassign
    user_id: int | None = None       # reassign to this agent ...
    team_id: int | None = None       # ... or to the least-loaded member of this team


@dataclass(frozen=True)
class Policy:
    id: int | None
    name: str
    order: int = 100
    priorities: frozenset = frozenset()
    category_ids: frozenset = frozenset()
    tiers: frozenset = frozenset()
    channels: frozenset = frozenset()
    first_response: int | None = None        # minutes of business time
    next_response: int | None = None
    resolution: int | None = None
    warn_at: tuple[int, ...] = (75, 90)      # percent of the target
    escalations: tuple[Escalation, ...] = ()
    active: bool = True

    def targets(self) -> SlaTargets:
        def td(m):
            return None if m is None else timedelta(minutes=m)
        return SlaTargets(td(self.first_response), td(self.next_response), td(self.resolution))

    def fractions(self) -> tuple[float, ...]:
        return tuple(sorted(w / 100 for w in self.warn_at))


@dataclass(frozen=True)
class TicketFacts:
    priority: int
    category_id: int | None
    tier: str
    channel: str


def lineage(category_id: int | None, parents: dict) -> tuple[int, ...]:
    """The category and its ancestors (`parents`: id -> parent id), nearest first."""
    chain, seen = [], set()
    while category_id is not None and category_id not in seen:
        seen.add(category_id)
        chain.append(category_id)
        category_id = parents.get(category_id)
    return tuple(chain)


def matches(p: Policy, facts: TicketFacts, parents: dict) -> bool:
    return (p.active
            and (not p.priorities or facts.priority in p.priorities)
            and (not p.tiers or facts.tier in p.tiers)
            and (not p.channels or facts.channel in p.channels)
            and (not p.category_ids
                 or any(c in p.category_ids for c in lineage(facts.category_id, parents))))


def ordered(policies) -> list[Policy]:
    return sorted(policies, key=lambda p: (p.order, p.id if p.id is not None else 1 << 62))


def match(policies, facts: TicketFacts, parents: dict) -> Policy | None:
    """The first active policy, in order, that matches the ticket; None when none does."""
    return next((p for p in ordered(policies) if matches(p, facts, parents)), None)


# ---------------------------------------------------------------- validation

def _problem(path: str, code: str, **params) -> Problem:
    shown = {k: str(v) for k, v in params.items()}
    return Problem(path, code, MESSAGES[code] % shown, shown)


def policy_problems(p: Policy, path: str, categories: set | None = None) -> list[Problem]:
    """What is wrong with one policy on its own (`categories`: the existing ids)."""
    found = []
    if not p.name.strip():
        found.append(_problem(f"{path}name", "name_required"))
    if not isinstance(p.order, int) or not 0 <= p.order <= 9999:
        found.append(_problem(f"{path}order", "bad_order"))
    targets = {c: getattr(p, c) for c in CLOCKS}
    if all(v is None for v in targets.values()):
        found.append(_problem(f"{path}first_response", "no_targets"))
    for clock, v in targets.items():
        if v is not None and (not isinstance(v, int) or not 0 < v <= MAX_TARGET_MINUTES):
            found.append(_problem(f"{path}{clock}", "bad_target", max=MAX_TARGET_MINUTES))
            targets[clock] = None
    for clock in ("first_response", "next_response"):
        if None not in (targets[clock], targets["resolution"]) and \
                targets[clock] > targets["resolution"]:
            found.append(_problem(f"{path}resolution", "targets_order",
                                  longer=clock.replace("_", " "), a=targets[clock],
                                  b=targets["resolution"]))
    if len(set(p.warn_at)) != len(p.warn_at) or any(
            not isinstance(w, int) or not 0 < w < 100 for w in p.warn_at):
        found.append(_problem(f"{path}warn_at", "bad_warning"))
    if not set(p.priorities) <= set(PRIORITIES):
        found.append(_problem(f"{path}priorities", "bad_priority"))
    if not set(p.channels) <= set(CHANNELS):
        found.append(_problem(f"{path}channels", "bad_channel", channels=", ".join(CHANNELS)))
    if any(not isinstance(t, str) or not t.strip() or len(t) > 32 for t in p.tiers):
        found.append(_problem(f"{path}tiers", "bad_tier"))
    if categories is not None:
        for c in sorted(set(p.category_ids) - categories):
            found.append(_problem(f"{path}category_ids", "unknown_category", id=c))
    found += _escalation_problems(p, path)
    return found


def _escalation_problems(p: Policy, path: str) -> list[Problem]:
    found = []
    for i, e in enumerate(p.escalations):
        where = f"{path}escalations[{i}]"
        if e.at != BREACH and e.at not in p.warn_at:
            found.append(_problem(f"{where}.at", "bad_escalation_at",
                                  thresholds=", ".join(map(str, p.warn_at)) or "-"))
        if e.action not in ACTIONS:
            found.append(_problem(f"{where}.action", "bad_escalation_action"))
        elif e.action == "reassign" and (e.user_id is None) == (e.team_id is None):
            found.append(_problem(f"{where}.action", "reassign_target"))
    return found


def problems(policies, parents: dict, categories: set | None = None) -> list[Problem]:
    """Every problem of a set of policies: each on its own (paths `policies[i].field`),
    then conflicts and unreachable ones among the active ones (path `policies[i]`)."""
    policies = list(policies)
    found = []
    for i, p in enumerate(policies):
        found += policy_problems(p, f"policies[{i}].", categories)
    index = {id(p): i for i, p in enumerate(policies)}
    active = [p for p in ordered(policies) if p.active]
    for n, b in enumerate(active):
        for a in active[:n]:
            if a.order == b.order and _overlap(a, b, parents) and _outcome(a) != _outcome(b):
                found.append(_problem(f"policies[{index[id(b)]}]", "policy_conflict",
                                      other=a.name))
            elif a.order < b.order and _covers(a, b, parents):
                found.append(_problem(f"policies[{index[id(b)]}]", "policy_unreachable",
                                      other=a.name))
                break
    return found


def _outcome(p: Policy):
    return (p.first_response, p.next_response, p.resolution, tuple(sorted(p.warn_at)),
            p.escalations)


def _dims(p: Policy):
    return ((p.priorities, None), (p.tiers, None), (p.channels, None), (p.category_ids, "cat"))


def _overlap(a: Policy, b: Policy, parents: dict) -> bool:
    """Some ticket can match both (every dimension has a value in common)."""
    for (sa, kind), (sb, _) in zip(_dims(a), _dims(b)):
        if not sa or not sb:
            continue
        if kind == "cat":
            if not any(set(lineage(x, parents)) & sb or set(lineage(y, parents)) & sa
                       for x in sa for y in sb):
                return False
        elif not sa & sb:
            return False
    return True


def _covers(a: Policy, b: Policy, parents: dict) -> bool:
    """Every ticket `b` matches, `a` matches too."""
    for (sa, kind), (sb, _) in zip(_dims(a), _dims(b)):
        if not sa:
            continue
        if not sb:
            return False
        if kind == "cat":
            if not all(set(lineage(y, parents)) & sa for y in sb):
                return False
        elif not sb <= sa:
            return False
    return True


def crossed(elapsed: timedelta, target: timedelta, warn_at) -> list[int]:
    """The warning thresholds (percent) `elapsed` has reached, lowest first."""
    return [w for w in sorted(warn_at) if elapsed >= target * (w / 100)]


def pause_intervals(changes, pause_statuses) -> list[tuple]:
    """(start, end) ranges spent in `pause_statuses`, from the ticket's status changes as
    (at, before, after) in order; the last one is open (end None) while still paused."""
    pauses, start = [], None
    for at, _before, after in changes:
        if after in pause_statuses:
            if start is None:
                start = at
        elif start is not None:
            pauses.append((start, at))
            start = None
    if start is not None:
        pauses.append((start, None))
    return pauses
