"""Encryption at rest: what it adds to creating a ticket, and rotating N PII values online.

    .venv/bin/python bench/encryption_overhead.py                  # 300 tickets, 1,000,000 values
    .venv/bin/python bench/encryption_overhead.py -n 200 --values 100000

(a) Ticket creation, in-process through the services (no HTTP): a new customer with a
phone, an e-mail, an ID number and an address, then a ticket for it with a 64 KiB
attachment — the intake path that encryption touches most. Timed with the real
services, and again with services.encryption's seal/unseal/blind and audit.record
replaced by plaintext pass-throughs (the same code without the cryptography and the
audit writes), alternating blocks of 25 so drift hits both. Target (issue 8): <= 15 %.

(b) Rotation: N encrypted phone contacts bulk-loaded (as bench/load_million.py writes
them), then `keys rotate --reencrypt --batch 1000` (services.key_rotation.rotate) timed
while an "agent" thread keeps creating customers and reading profiles; prints the
rotation's rate and the agent's latencies during it (the online part: short
transactions, so agents wait for at most one batch).

Uses a fresh SQLite site under bench/out/encryption each run.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance import audit_keys, keystore, migrate  # noqa: E402
from appliance.bootstrap import boot  # noqa: E402
from appliance.db import database  # noqa: E402
from appliance.settings import Settings  # noqa: E402

TARGET_OVERHEAD = 0.15
BLOCK = 25


def setup(out: Path) -> Settings:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    s = Settings(database_url=f"sqlite:///{out}/enc.db", queue_url=f"sqlite:///{out}/q.db",
                 index_dir=str(out / "index"), attachment_dir=str(out / "attachments"),
                 keys_dir=str(out / "keys"), secret_key="bench", log_level="WARNING")
    audit_keys.create(s)
    keystore.create_master(s, environ={})
    boot(s, queue=False)
    migrate.upgrade()
    from appliance.services import keys
    keys.activate(s, environ={})  # after migrating: the first data keys
    return s


def make_staff():
    from appliance.models import User
    from appliance.rules.access import SYSTEM
    from appliance.services import org, users
    dept = org.save_department(SYSTEM, "CS", "客服", "Customer service")
    users.create_user(SYSTEM, "bench.admin", "Admin", "admin")
    users.create_user(SYSTEM, "bench.agent", "Agent", "agent", department_id=dept.id)
    return (users.actor_of(User.get(User.username == "bench.admin")),
            users.actor_of(User.get(User.username == "bench.agent")), dept.id)


def one_ticket(settings, staff, i: int) -> float:
    from appliance.services import customers
    from appliance.services.attachments import Upload
    from appliance.services.tickets import TicketInput, create_ticket
    admin, agent, dept = staff
    start = time.perf_counter()
    c = customers.create_customer(admin, f"客户{i}", contacts=[
        {"kind": "phone", "value": f"139{i:08d}"}, {"kind": "email", "value": f"c{i}@example.com"}],
        id_number=f"X{i:09d}", address=f"上海市浦东新区世纪大道{i}号")
    create_ticket(agent, TicketInput(subject=f"空调不制冷 {i}", description="上门检查",
                                     customer_id=c.id, department_id=dept), settings,
                  uploads=[Upload("photo.txt", (b"log line %d\n" % i) * 5000)])
    return time.perf_counter() - start


class Plaintext:
    """services.encryption and audit.record swapped for pass-throughs, and back."""
    NAMES = ("seal", "unseal", "seal_bytes", "unseal_bytes", "blind")

    def __init__(self):
        from appliance.services import audit, encryption
        self.enc, self.audit = encryption, audit
        self.saved = {n: getattr(encryption, n) for n in self.NAMES}
        self.saved_record = audit.record

    def __enter__(self):
        e = self.enc
        e.seal = lambda table, column, row_id, value: value
        e.unseal = lambda table, column, row_id, token: token
        e.seal_bytes = lambda kind, object_id, data: data
        e.unseal_bytes = lambda kind, object_id, data: data
        e.blind = lambda kind, value: f"{kind}|{value}"[:64]
        self.audit.record = lambda *a, **k: 0

    def __exit__(self, *exc):
        for n, fn in self.saved.items():
            setattr(self.enc, n, fn)
        self.audit.record = self.saved_record


def bench_tickets(settings, n: int) -> dict:
    staff = make_staff()
    for i in range(10):  # warm-up: caches, prepared statements, first data key unwrap
        one_ticket(settings, staff, 10_000_000 + i)
    real, plain = [], []
    i = 0
    while len(real) < n:
        for _ in range(BLOCK):
            real.append(one_ticket(settings, staff, i))
            i += 1
        with Plaintext():
            for _ in range(BLOCK):
                plain.append(one_ticket(settings, staff, 20_000_000 + i))
                i += 1
    return {"real": real, "plain": plain}


def load_values(n: int) -> float:
    """N phone contacts on N/2 customers, encrypted and blind-indexed, bulk-inserted."""
    from appliance.models import Customer, CustomerContact
    from appliance.services import customer_names, encryption
    start = time.perf_counter()
    base_c = (Customer.select(Customer.id).order_by(Customer.id.desc()).scalar() or 0) + 1
    base = (CustomerContact.select(CustomerContact.id).order_by(CustomerContact.id.desc())
            .scalar() or 0) + 1
    chunk = 50_000
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        with database.atomic():
            cur = database.cursor()
            # Names sealed as services.customer_names stores them (decision 0050): the
            # rotation then moves them too (N/2 values more than the N contacts).
            cur.executemany('INSERT INTO "customer" ("id", "name_enc", "name_bidx", "company", '
                            '"tags", "notes", "created_at", "version", "id_number_enc", '
                            '"id_number_bidx", "address_enc") VALUES (?, ?, ?, \'\', \'[]\', '
                            '\'\', CURRENT_TIMESTAMP, 1, \'\', \'\', \'\')',
                            [(base_c + j, *customer_names.columns(base_c + j, f"批量{j}").values())
                             for j in range(lo // 2, (hi + 1) // 2) if j * 2 >= lo])
            rows = []
            for j in range(lo, hi):
                value, row_id = f"137{j:08d}", base + j
                rows.append((row_id, base_c + j // 2, "phone",
                             encryption.seal("customer_contact", "value", row_id, value),
                             encryption.blind("phone", value)))
            cur.executemany('INSERT INTO "customer_contact" ("id", "customer_id", "kind", '
                            '"value_enc", "value_bidx", "label") VALUES (?, ?, ?, ?, ?, \'\')',
                            rows)
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


def bench_rotation(out: Path, n: int, batch: int) -> dict:
    """On a site of its own: (a) left plaintext rows behind, which rotation refuses."""
    from appliance.services import customers, key_rotation
    settings = setup(out)
    staff = make_staff()
    loaded = load_values(n)
    samples, stop = [], threading.Event()

    def agent():
        i = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            c = customers.create_customer(staff[0], f"在线{i}", contacts=[
                {"kind": "phone", "value": f"136{i:08d}"}])
            customers.get_customer(staff[1], c.id)
            samples.append(time.perf_counter() - t0)
            database.close()
            i += 1
            time.sleep(0.05)
    worker = threading.Thread(target=agent, daemon=True)
    start = time.perf_counter()
    worker.start()
    r = key_rotation.rotate(settings, reencrypt=True, batch=batch, environ={})
    took = time.perf_counter() - start
    stop.set()
    worker.join()
    return {"loaded_s": loaded, "rotation_s": took, "rotation": r, "agent": samples}


def ms(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--tickets", type=int, default=300)
    p.add_argument("--values", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "encryption")
    args = p.parse_args(argv)
    settings = setup(args.out.resolve() / "tickets")
    print(f"# {platform.node()} · {os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f} · SQLite")
    t = bench_tickets(settings, args.tickets)
    real, plain = statistics.median(t["real"]), statistics.median(t["plain"])
    overhead = real / plain - 1
    print(f"(a) ticket creation (customer with phone, e-mail, ID number, address + ticket "
          f"with a 64 KiB attachment), n={len(t['real'])} each")
    print(f"    encrypted + audited: p50 {real * 1000:.2f} ms  p95 {ms(t['real'], 95):.2f} ms")
    print(f"    plaintext, no audit: p50 {plain * 1000:.2f} ms  p95 {ms(t['plain'], 95):.2f} ms")
    print(f"    added: {overhead * 100:+.1f} % (target <= {TARGET_OVERHEAD * 100:.0f} %) "
          f"{'OK' if overhead <= TARGET_OVERHEAD else 'OVER'}")
    if args.values:
        r = bench_rotation(args.out.resolve() / "rotation", args.values, args.batch)
        rot, agent = r["rotation"], r["agent"]
        print(f"(b) {args.values:,} encrypted values loaded in {r['loaded_s']:.1f} s; "
              f"`keys rotate --reencrypt --batch {args.batch}`: {r['rotation_s']:.1f} s "
              f"({rot.reencrypted / r['rotation_s']:,.0f} values/s), {rot.reencrypted:,} "
              f"values re-encrypted, {rot.rewrapped} data keys re-wrapped")
        if agent:
            print(f"    agent during rotation: {len(agent)} create+read, p50 {ms(agent, 50):.1f} ms"
                  f"  p95 {ms(agent, 95):.1f} ms  max {max(agent) * 1000:.1f} ms")
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
