"""Ticket creation → assignment (triage + dispatch) through the real worker.

Creates a fresh SQLite site in a temporary folder with the demo organisation and
history (`gongdan demo load`'s load_demo, classifiers trained on it as the CLI does),
adds --agents agents online across the five demo departments (in proportion to the
departments' share of the tickets, at least 3 each), each with capacity --capacity
and the skills of their department's categories at seeded levels 1-5 (the demo
categories require level 2, so some agents cannot take some categories), and starts
`gongdan worker`. Then, from 4 threads (like gunicorn's threads), through
tickets.create_ticket with no department, so AI triage decides where they go:

1. steady: --steady tickets at one per second (the 2 s goal);
2. burst: --tickets tickets spread over --seconds seconds (the p95 ≤ 10 s target).

For each run it prints p50/p95/max of creation → automatic assignment
(RoutingDecision.latency_ms of the "auto" decision, which includes triage), and how
many tickets were assigned, queued (nobody eligible with room) or left without a
department by triage (review queue: not routable). Between the runs the steady
tickets are marked resolved by a direct UPDATE (bench bookkeeping, not measured) so
that the burst finds the agents as empty as the steady run did.

    .venv/bin/python -m bench.dispatch_burst [--tickets 500] [--seconds 60] [--steady 60]
                                             [--agents 50] [--capacity 12] [--no-llm]
"""
from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from pathlib import Path

from bench.triage_burst import burst, pct, setup, start_worker

ENGLISH_SHARE = 0.4  # as the demo (appliance.demo)


def history(s, n: int, tmp: Path) -> None:
    """Demo organisation and n tickets of history, classifiers trained, demo jobs done."""
    from appliance.demo import load_demo
    from appliance.jobs import run_pending_inline
    from appliance.services import ai_admin, ai_training
    from appliance.tasks import _import_handlers
    _import_handlers()
    load_demo(n, settings=s, logins_path=tmp / "demo-logins.txt")
    ai_admin.seed_default_rules()
    ai_admin.seed_profiles_from_org()
    trained = ai_training.train(s)
    print("classifiers:", ", ".join(f"{r.field}={r.kind}:{r.version}" if r.version
                                    else f"{r.field}=none" for r in trained))
    run_pending_inline()


def sources(n: int, seed: int) -> list:
    from appliance import demo, demo_texts
    rng = random.Random(seed)
    pool = demo_texts.load_pool(demo._data_dir(None), rng)
    return [pool.take("en" if rng.random() < ENGLISH_SHARE else "zh") for _ in range(n)]


def department_of(category_key: str) -> str:
    from appliance import demo_texts
    top = category_key.split("/")[0]
    return next(code for name, code, _ in demo_texts.CATEGORIES if name == top)


def staff_agents(n: int, capacity: int, mix: Counter, seed: int) -> dict[str, int]:
    """n agents online, shared out among departments by `mix` (at least 3 each)."""
    from appliance.demo_dispatch import CATEGORY_SKILLS
    from appliance.models import Department, Skill
    from appliance.rules.access import SYSTEM
    from appliance.services import org, presence, users
    rng = random.Random(seed)
    codes = [d.code for d in Department.select(Department.code).order_by(Department.id)]
    share = {c: max(3, round(n * mix[c] / max(1, sum(mix.values())))) for c in codes}
    while sum(share.values()) > n:
        share[max(share, key=share.get)] -= 1
    while sum(share.values()) < n:
        share[max(codes, key=lambda c: mix[c] / share[c])] += 1
    skills = {name: Skill.get(Skill.name == name).id for name in ["English"] + [
        s for s, _ in CATEGORY_SKILLS.values()]}
    k = 0
    for code in codes:
        dept = Department.get(Department.code == code).id
        for _ in range(share[code]):
            k += 1
            view, _ = users.create_user(SYSTEM, f"bench{k:02d}", f"Bench agent {k}", "agent",
                                        department_id=dept)
            users.update_user(SYSTEM, view.id, {"capacity": capacity})
            for key, (skill, _) in CATEGORY_SKILLS.items():
                if department_of(key) == code:
                    org.set_agent_skill(SYSTEM, view.id, skills[skill], rng.randint(1, 5))
            if rng.random() < 0.4:
                org.set_agent_skill(SYSTEM, view.id, skills["English"], rng.randint(2, 5))
            presence.set_presence(SYSTEM, "online", user_id=view.id)
    return share


def settle(first: int, n: int, timeout: float) -> dict:
    """Wait until every ticket from `first` is assigned, queued or left without a
    department by triage; returns what happened to them."""
    from appliance.models import QueueEntry, RoutingDecision, Ticket
    deadline, state = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        rows = list(Ticket.select(Ticket.id, Ticket.assignee, Ticket.department,
                                  Ticket.triage_state).where(Ticket.id >= first).tuples())
        queued = {q.ticket_id for q in QueueEntry.select(QueueEntry.ticket)
                  .where(QueueEntry.ticket >= first)}
        state = {"assigned": sum(1 for _, a, _, _ in rows if a),
                 "queued": sum(1 for i, a, _, _ in rows if not a and i in queued),
                 "no department": sum(1 for _, a, d, ts in rows
                                      if not a and d is None and ts != "pending")}
        if len(rows) >= n and sum(state.values()) >= n:
            break
        time.sleep(0.5)
    reasons = Counter(q.reason for q in QueueEntry.select(QueueEntry.reason)
                      .where(QueueEntry.ticket >= first))
    if reasons:
        state["queued because"] = dict(reasons)
    state["latency"] = [ms / 1000 for (ms,) in RoutingDecision.select(
        RoutingDecision.latency_ms).where((RoutingDecision.ticket >= first)
                                          & (RoutingDecision.mode == "auto")).tuples()]
    return state


def run(s, label: str, srcs: list, seconds: float) -> list[int]:
    """Create the tickets on schedule, wait for routing, print the figures; returns ids."""
    from appliance.models import Ticket
    first = (Ticket.select(Ticket.id).order_by(Ticket.id.desc()).scalar() or 0) + 1
    took = burst(s, [x.description for x in srcs], seconds)
    state = settle(first, len(srcs), timeout=300)
    lat = state.pop("latency")
    print(f"{label}: {len(srcs)} tickets over {seconds:.0f}s; create_ticket p50 "
          f"{pct(took, 50) * 1000:.0f} ms, p95 {pct(took, 95) * 1000:.0f} ms")
    if lat:
        print(f"  creation → assignment (triage + dispatch): p50 {pct(lat, 50):.2f}s  "
              f"p95 {pct(lat, 95):.2f}s  max {max(lat):.2f}s")
    print("  " + ", ".join(f"{k} {v}" for k, v in state.items()))
    return [t.id for t in Ticket.select(Ticket.id).where(Ticket.id >= first)]


def free(ids: list[int]) -> None:
    """Bench bookkeeping between runs (not measured): the agents drop these tickets."""
    from appliance.models import QueueEntry, Ticket, utcnow
    Ticket.update(status="resolved", is_open=False, resolved_at=utcnow()).where(
        Ticket.id.in_(ids)).execute()
    QueueEntry.delete().where(QueueEntry.ticket.in_(ids)).execute()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--steady", type=int, default=60, help="tickets at one per second first")
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--capacity", type=int, default=12)
    ap.add_argument("--history", type=int, default=800, help="demo tickets to learn from")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-llm", action="store_true", help="no model: enrichment is skipped")
    args = ap.parse_args()
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s = setup(tmp, args.no_llm)
        t0 = time.monotonic()
        history(s, args.history, tmp)
        srcs = sources(args.steady + args.tickets, args.seed)
        mix = Counter(department_of(x.category) for x in srcs)
        share = staff_agents(args.agents, args.capacity, mix, args.seed)
        from appliance import tasks
        from appliance.jobs import run_pending_inline
        run_pending_inline()  # coming online, the agents take the demo's waiting tickets
        _report_setup(share, args, time.monotonic() - t0)
        worker = start_worker(s, tmp)
        try:
            time.sleep(3)  # consumer start-up
            tasks.install_enqueuer(s)
            if args.steady:
                free(run(s, "steady", srcs[:args.steady], float(args.steady)))
            run(s, "burst", srcs[args.steady:], args.seconds)
            from appliance.models import TriageRun
            print("model enrichment runs finished meanwhile:",
                  TriageRun.select().where(TriageRun.stage == "enrich").count())
        finally:
            worker.terminate()
            worker.wait(30)


def _report_setup(share: dict, args, seconds: float) -> None:
    from appliance.models import Ticket, User
    backlog = (Ticket.select().join(User, on=(Ticket.assignee == User.id))
               .where(User.username.startswith("bench") & Ticket.is_open).count())
    print(f"set-up {seconds:.0f}s: {args.history} demo tickets, {args.agents} agents x capacity "
          f"{args.capacity} online (" + ", ".join(f"{c} {n}" for c, n in share.items())
          + f"); demo backlog they took on coming online: {backlog}")


if __name__ == "__main__":
    main()
