"""Who should get a ticket: eligibility and the routing score. Pure functions.

Eligibility (hard filters, every strategy): present (online), on shift, not on a break,
under capacity once this ticket's load units are added, allowed to handle the
ticket's category, customer and VIP tier, and holding every required skill at its
minimum level.

Score (strategy "skills"): a weighted mean of components, each in [0, 1]:
  skill       mean of level/5 over the required skills (1 when none is required)
  load        headroom after taking the ticket: 1 - (load + weight) / capacity
  efficiency  speed against the candidates' median handling time in this category,
              first-contact resolution, 1 - reopen rate and CSAT/5, shrunk towards 0.5
              when the agent closed few tickets of the category (0.5 with no history)
  language    1 when the agent speaks the ticket's language (or it is unknown), else 0
  continuity  1 for the agent who last served this customer, 0.5 for an earlier one
  fairness    1 - recent assignments / the most recent assignments among candidates
"least_loaded" ranks by load ratio, "round_robin" by the time of the last assignment
(the baseline, and the tie-breaker of the other two). With "skills", an agent far over
their capacity share of recent assignments is ranked last (`over_share`).
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from typing import Mapping

COMPONENTS = ("skill", "load", "efficiency", "language", "continuity", "fairness")
DEFAULT_WEIGHTS: Mapping[str, float] = {"skill": 0.35, "load": 0.25, "efficiency": 0.15,
                                        "language": 0.10, "continuity": 0.10, "fairness": 0.05}
STRATEGIES = ("skills", "least_loaded", "round_robin")
# Exclusion reasons, in the order they are checked (the first that applies is reported).
REASONS = ("offline", "away", "busy", "off_shift", "on_break", "at_capacity",
           "category_not_allowed", "customer_not_allowed", "vip_not_allowed", "missing_skill")
SHRINK_TICKETS = 5  # closed tickets at which efficiency counts half
SHARE_GUARD = 1.75  # x capacity share of recent assignments before an agent goes last
GUARD_MIN_RECENT = 20  # assignments in the fairness window before the guard applies
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class Efficiency:
    closed: int
    median_handle_minutes: float | None = None
    fcr_rate: float | None = None
    reopen_rate: float | None = None
    csat: float | None = None  # 1..5


@dataclass(frozen=True)
class TicketNeeds:
    ticket_id: int
    category_id: int | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)  # name -> min level
    language: str = ""
    customer_id: int | None = None
    vip_tier: str = ""
    previous_agents: tuple[int, ...] = ()  # the customer's agents, most recent first
    weight: float = 1.0                    # load units the ticket adds


@dataclass(frozen=True)
class AgentState:
    user_id: int
    name: str
    presence: str = "online"
    on_shift: bool = True
    on_break: bool = False
    load: float = 0.0
    capacity: float = 10.0
    skills: Mapping[str, int] = field(default_factory=dict)
    languages: frozenset = frozenset()
    allowed_category_ids: frozenset = frozenset()  # empty: any
    allowed_customer_ids: frozenset = frozenset()  # empty: any
    vip_tiers: frozenset = frozenset({"*"})
    last_assigned_at: dt.datetime | None = None
    recent_assignments: int = 0
    efficiency: Efficiency | None = None


@dataclass(frozen=True)
class Scored:
    user_id: int
    name: str
    score: float
    parts: Mapping[str, float]
    load: float
    capacity: float


@dataclass(frozen=True)
class Ranking:
    candidates: tuple[Scored, ...]   # best first
    excluded: Mapping[str, int]      # reason -> number of agents

    @property
    def best(self) -> Scored | None:
        return self.candidates[0] if self.candidates else None


def exclusion(t: TicketNeeds, a: AgentState) -> str | None:
    """Why `a` may not take `t` now, or None if they may."""
    if a.presence in ("offline", "away", "busy"):
        return a.presence
    if not a.on_shift:
        return "off_shift"
    if a.on_break:
        return "on_break"
    if a.load + t.weight > a.capacity + 1e-9:
        return "at_capacity"
    return permission_problem(t, a)


def permission_problem(t: TicketNeeds, a: AgentState) -> str | None:
    """The permanent reasons (independent of presence and load) `a` can never take `t`."""
    if a.allowed_category_ids and t.category_id not in a.allowed_category_ids:
        return "category_not_allowed"
    if a.allowed_customer_ids and t.customer_id not in a.allowed_customer_ids:
        return "customer_not_allowed"
    if t.vip_tier and not ({"*", t.vip_tier} & set(a.vip_tiers)):
        return "vip_not_allowed"
    if any(a.skills.get(name, 0) < level for name, level in t.required_skills.items()):
        return "missing_skill"
    return None


def rank(t: TicketNeeds, agents: list[AgentState], strategy: str = "skills",
         weights: Mapping[str, float] | None = None,
         share_guard: float | None = SHARE_GUARD) -> Ranking:
    """Eligible agents for `t`, best first, with the parts of their score. With the
    skills strategy, agents over their share (`over_share`) come after everyone else
    eligible: they still get the ticket when nobody else can take it."""
    excluded: dict[str, int] = {}
    eligible = []
    for a in agents:
        reason = exclusion(t, a)
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
        else:
            eligible.append(a)
    weights = normalise_weights(weights or DEFAULT_WEIGHTS)
    reference = _reference_minutes(eligible)
    most_recent = max((a.recent_assignments for a in eligible), default=0)
    scored = []
    for a in eligible:
        parts = score_parts(t, a, reference, most_recent)
        scored.append((a, Scored(a.user_id, a.name, _score(strategy, parts, weights, a, t),
                                 parts, a.load, a.capacity)))
    over = over_share(agents, share_guard) if strategy == "skills" else set()
    scored.sort(key=lambda p: (p[0].user_id in over, -round(p[1].score, 9),
                               p[0].last_assigned_at or _EPOCH, p[0].user_id))
    return Ranking(tuple(s for _, s in scored), excluded)


def over_share(agents: list[AgentState], guard: float | None) -> set[int]:
    """Present agents whose assignments in the fairness window exceed `guard` times their
    capacity share of all present agents' assignments (once there are GUARD_MIN_RECENT).
    Fast specialists would otherwise win every ticket they are free for and take more
    than twice their fair share (bench/routing_sim.py); the guard keeps the skills gain
    while nobody starves the others."""
    present = [a for a in agents if a.presence in ("online", "busy")]
    recent = sum(a.recent_assignments for a in present)
    slots = sum(a.capacity for a in present)
    if not guard or recent < GUARD_MIN_RECENT or slots <= 0:
        return set()
    return {a.user_id for a in present
            if a.recent_assignments > guard * recent * a.capacity / slots}


def _score(strategy: str, parts: Mapping[str, float], weights: Mapping[str, float],
           a: AgentState, t: TicketNeeds) -> float:
    if strategy == "round_robin":
        return 0.0  # order comes from the tie-breaker alone: least recently assigned first
    if strategy == "least_loaded":
        return 1.0 - (a.load / a.capacity if a.capacity > 0 else 1.0)
    return round(sum(weights[c] * parts[c] for c in COMPONENTS), 6)


def score_parts(t: TicketNeeds, a: AgentState, reference_minutes: float | None,
                most_recent: int) -> dict[str, float]:
    return {
        "skill": _skill(t, a),
        "load": max(0.0, 1.0 - (a.load + t.weight) / a.capacity) if a.capacity > 0 else 0.0,
        "efficiency": efficiency_score(a.efficiency, reference_minutes),
        "language": 1.0 if not t.language or t.language in a.languages else 0.0,
        "continuity": _continuity(t, a),
        "fairness": 1.0 - a.recent_assignments / most_recent if most_recent else 1.0,
    }


def _skill(t: TicketNeeds, a: AgentState) -> float:
    if not t.required_skills:
        return 1.0
    return sum(min(a.skills.get(n, 0), 5) / 5 for n in t.required_skills) / len(t.required_skills)


def _continuity(t: TicketNeeds, a: AgentState) -> float:
    if not t.previous_agents or a.user_id not in t.previous_agents:
        return 0.0
    return 1.0 if t.previous_agents[0] == a.user_id else 0.5


def _reference_minutes(agents: list[AgentState]) -> float | None:
    values = [a.efficiency.median_handle_minutes for a in agents
              if a.efficiency and a.efficiency.median_handle_minutes]
    return statistics.median(values) if values else None


def efficiency_score(e: Efficiency | None, reference_minutes: float | None) -> float:
    """0.5 means "typical or unknown"; faster, first-time, lasting resolutions score more."""
    if e is None or e.closed <= 0:
        return 0.5
    signals = []
    if e.median_handle_minutes and reference_minutes:
        signals.append(min(reference_minutes / e.median_handle_minutes, 2.0) / 2.0)
    if e.fcr_rate is not None:
        signals.append(e.fcr_rate)
    if e.reopen_rate is not None:
        signals.append(1.0 - e.reopen_rate)
    if e.csat is not None:
        # Mean CSAT 1..5 onto 0..1 with 3 (neither satisfied nor not) at 0.5, "typical";
        # services.agent_stats leaves it None until enough customers answered.
        signals.append((min(max(e.csat, 1.0), 5.0) - 1.0) / 4.0)
    if not signals:
        return 0.5
    trust = e.closed / (e.closed + SHRINK_TICKETS)
    return round(0.5 + trust * (sum(signals) / len(signals) - 0.5), 6)


def normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to 1; missing components weigh 0, and so do values that
    weight_errors would reject (stored policies are JSON: a NaN or negative weight there
    must not make the order depend on NaN comparisons). All zero: the defaults."""
    if not isinstance(weights, Mapping):
        return dict(DEFAULT_WEIGHTS)
    clean = {c: _weight(weights.get(c)) for c in COMPONENTS}
    total = sum(clean.values())
    if total <= 0:
        return dict(DEFAULT_WEIGHTS)
    return {c: w / total for c, w in clean.items()}


def _weight(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) and value > 0 else 0.0


def weight_errors(weights) -> dict[str, str]:
    """Problems with a weights mapping given by an admin, by component name."""
    if not isinstance(weights, Mapping):
        return {"weights": "must be an object of component: number"}
    errors = {}
    for key, value in weights.items():
        if key not in COMPONENTS:
            errors[f"weights.{key}"] = "unknown component; use " + ", ".join(COMPONENTS)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            errors[f"weights.{key}"] = "must be a number"
        elif value < 0 or value != value or value > 100:
            errors[f"weights.{key}"] = "must be between 0 and 100"
    if not errors and sum(float(weights.get(c, 0)) for c in COMPONENTS) <= 0:
        errors["weights"] = "at least one weight must be greater than 0"
    return errors


def ticket_weight(channel: str, priority: int, channel_weights: Mapping[str, float],
                  priority_weights: Mapping[str, float]) -> float:
    """Load units a ticket occupies: its channel's weight times its priority's (default 1)."""
    return float(channel_weights.get(channel, 1.0)) * float(
        priority_weights.get(str(priority), 1.0))


def unit_weight_errors(weights, field_name: str, keys: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(weights, Mapping):
        return {field_name: "must be an object"}
    errors = {}
    for key, value in weights.items():
        if str(key) not in keys:
            errors[f"{field_name}.{key}"] = "unknown; use " + ", ".join(keys)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 10:
            errors[f"{field_name}.{key}"] = "must be a number greater than 0 and at most 10"
    return errors


def overflow_cycle(edges: Mapping[int, int | None], start: int) -> list[int] | None:
    """The cycle reached from `start` following department -> overflow department, if any."""
    seen: list[int] = []
    node: int | None = start
    while node is not None:
        if node in seen:
            return seen[seen.index(node):] + [node]
        seen.append(node)
        node = edges.get(node)
    return None


def on_shift(shifts: list[tuple[int, int, int]], local_now: dt.datetime) -> bool:
    """Whether `local_now` falls in one of the weekly (weekday, start, end) minute ranges.
    No shifts at all means "always". An overnight shift (end <= start) runs past midnight."""
    if not shifts:
        return True
    day, minute = local_now.weekday(), local_now.hour * 60 + local_now.minute
    for weekday, start, end in shifts:
        if end > start and weekday == day and start <= minute < end:
            return True
        if end <= start and ((weekday == day and minute >= start)
                             or ((weekday + 1) % 7 == day and minute < end)):
            return True
    return False


def effective_presence(presence: str, load: float, capacity: float, on_shift_now: bool,
                       on_break: bool) -> str:
    """What the board shows: an online agent at capacity is busy, one off shift or on a
    break is away."""
    if presence != "online":
        return presence
    if on_break or not on_shift_now:
        return "away"
    return "busy" if load >= capacity else "online"
