"""The dispatch simulation (bench/routing_sim.py) on a tiny workload: invariants only,
no timing and no figures."""
from __future__ import annotations

import pytest

from bench import routing_sim as sim

STRATEGIES = ("round_robin", "least_loaded", "skills")


@pytest.fixture(scope="module")
def workload():
    return sim.make_workload(seed=7, n_tickets=150, n_agents=6)


def _most_at_once(out: sim.Outcome, agent_id: int) -> int:
    """Largest number of tickets the agent held at one time, from the assignment and
    resolution times (independent of the simulation's own counters)."""
    edges = []
    for ticket_id, (assigned, who) in out.assigned.items():
        if who == agent_id:
            edges += [(assigned, +1), (out.done[ticket_id], -1)]
    held = most = 0
    for _, step in sorted(edges):  # at equal times a release (-1) sorts before a take
        held += step
        most = max(most, held)
    return most


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_ticket_is_assigned_to_an_eligible_agent_and_resolved(workload, strategy):
    out = sim.simulate(workload, strategy)
    agents = {a.id: a for a in workload.agents}
    assert set(out.done) == set(out.assigned) == {t.id for t in workload.tickets}
    for t in workload.tickets:
        assigned, who = out.assigned[t.id]
        assert t.arrival <= assigned <= out.done[t.id]
        assert sim.eligible_for(agents[who], t)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_no_agent_ever_holds_more_tickets_than_their_capacity(workload, strategy):
    out = sim.simulate(workload, strategy)
    for a in workload.agents:
        assert _most_at_once(out, a.id) <= a.capacity
        assert out.peak[a.id] <= a.capacity


def test_the_same_seed_gives_the_same_workload_and_outcome():
    first = sim.make_workload(seed=3, n_tickets=80, n_agents=5)
    again = sim.make_workload(seed=3, n_tickets=80, n_agents=5)
    assert first == again
    assert sim.simulate(first, "skills") == sim.simulate(again, "skills")
    assert sim.make_workload(seed=4, n_tickets=80, n_agents=5) != first


def test_some_tickets_wait_in_the_burst_and_the_figures_cover_every_strategy(workload):
    rows = {s: sim.figures(workload, sim.simulate(workload, s)) for s in STRATEGIES}
    assert all(0 <= f["sla"] <= 100 and f["ttr_mean"] >= f["wait_mean"] >= 0
               for f in rows.values())
    assert any(f["wait_p95"] > 0 for f in rows.values())
