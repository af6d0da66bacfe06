"""site.yml with the cluster inventory, for real on this one machine: an app node, a
PostgreSQL host and a Redis host, each `-c local` into its own sandbox root (so the base
role's per-host files do not collide), all at 127.0.0.1. The postgresql and redis roles
write their server settings under their sandbox root only (the local servers' own
configuration is never touched nor restarted) but create the role and the database on the
real local PostgreSQL; the app uses the real local PostgreSQL and Redis (one Redis db
index). Everything the run creates on those servers is dropped at the end."""
import glob
import json
import secrets
import shutil
import time

import pytest
import requests
import yaml

from tests.provisioning.conftest import POPULATE, PROVISIONING, Site

pytestmark = pytest.mark.slow

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_DB = 14  # the only Redis db this test writes to, flushed at the end


def _pg(sql, *params, dbname="postgres"):
    psycopg2 = pytest.importorskip("psycopg2")
    conn = psycopg2.connect(dbname=dbname, connect_timeout=5, **PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def _redis():
    redis = pytest.importorskip("redis")
    return redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5)


def _inventory(tmp, roots):
    """inventories/cluster with its hosts replaced by three local ones (each its own root)."""
    inventory = tmp / "inventory"
    shutil.copytree(PROVISIONING / "inventories/cluster", inventory)
    groups = {"gongdan_app": "app1", "gongdan_db": "db1", "gongdan_redis": "redis1"}
    hosts = {"all": {"children": {group: {"hosts": {name: {
        "ansible_host": "127.0.0.1", "ansible_connection": "local",
        "gongdan_root": str(roots[name])}}} for group, name in groups.items()}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    return inventory / "hosts.yml"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, current_bundle):
    try:
        _pg("SELECT 1")
        _redis().ping()
    except Exception as exc:  # noqa: BLE001  (any connection error means "not here")
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379 "
                    f"are needed (make services): {exc}")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is missing (Debian package postgresql-client: make test-deps)")
    tmp = tmp_path_factory.mktemp("cluster")
    name = f"gongdan_t{secrets.token_hex(4)}"
    bundle, pubkey = current_bundle
    site = Site(tmp / "root", bundle, pubkey, vars={
        "gongdan_db_name": name, "gongdan_db_user": name,
        "vault_gongdan_db_password": secrets.token_urlsafe(24),
        "vault_gongdan_redis_password": "",  # the local Redis has none (sandbox only)
        "gongdan_redis_db": REDIS_DB})
    del site.vars["gongdan_root"]  # per host, in the inventory (-e would win over it)
    roots = {"app1": site.root, "db1": tmp / "db1", "redis1": tmp / "redis1"}
    site.inventory = _inventory(tmp, roots)
    site.roots, site.db_name = roots, name
    site.real_files_before = _real_server_files()
    _redis().flushdb()
    try:
        site.first = site.play("site.yml", inventory=site.inventory)
        site.second = site.play("site.yml", inventory=site.inventory)
        site.launcher("nginx-start")
        yield site
    finally:
        site.stop_all()
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg(f'DROP ROLE IF EXISTS "{name}"')
        _redis().flushdb()


def _real_server_files():
    """Contents of the local servers' own configuration (must not change)."""
    found = {}
    for pattern in ("/etc/postgresql/*/main/pg_hba.conf", "/etc/postgresql/*/main/conf.d/*",
                    "/etc/redis/*.conf"):
        for path in glob.glob(pattern):
            with open(path, "rb") as fh:
                found[path] = fh.read()
    return found


def test_cluster_installs_and_a_second_run_changes_nothing(cluster):
    assert cluster.first.changed > 0
    assert "PLAY [PostgreSQL server (cluster)]" in cluster.first.output
    for host in ("app1", "db1", "redis1"):
        assert f"{host}" in cluster.first.output.split("PLAY RECAP", 1)[1]
    assert cluster.second.changed == 0, cluster.second.changed_tasks()
    assert "failed=0" in cluster.second.output
    assert cluster.vars["vault_gongdan_db_password"] not in cluster.first.output


def test_the_real_servers_config_is_untouched_and_the_sandbox_copy_is_written(cluster):
    assert _real_server_files() == cluster.real_files_before
    db_root, redis_root = cluster.roots["db1"], cluster.roots["redis1"]
    hba = (db_root / "etc/postgresql/15/main/pg_hba.conf").read_text()
    assert f"hostssl {cluster.db_name} {cluster.db_name} 127.0.0.1/32 scram-sha-256" in hba
    conf = (db_root / "etc/postgresql/15/main/conf.d/gongdan.conf").read_text()
    assert "password_encryption = 'scram-sha-256'" in conf and "ssl = 'on'" in conf
    redis_conf = (redis_root / "etc/redis/gongdan.conf").read_text()
    assert "maxmemory-policy noeviction" in redis_conf
    assert "\nrequirepass" not in redis_conf  # empty password: sandbox only
    assert f"include {redis_root}/etc/redis/gongdan.conf" in (redis_root / "etc/redis/redis.conf").read_text()
    nft = (db_root / "etc/nftables.conf").read_text()
    assert "ip saddr { 127.0.0.1 } tcp dport 5432 accept" in nft
    assert "tcp dport 6379" in (redis_root / "etc/nftables.conf").read_text()


def test_the_role_and_database_exist_on_the_real_server(cluster):
    owner = _pg("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", cluster.db_name)
    assert owner == [(cluster.db_name,)]
    login = _pg("SELECT rolcanlogin, rolsuper, rolpassword LIKE 'SCRAM-SHA-256$%%' FROM pg_authid "
                "WHERE rolname = %s", cluster.db_name)
    assert login == [(True, False, True)]


def test_the_app_uses_postgresql_and_redis_and_answers_through_nginx(cluster):
    config = cluster.cli("config", "show").stdout
    name = cluster.db_name
    assert f"database_url = 'postgresql://{name}:********@127.0.0.1:5432/{name}'" in config
    assert f"queue_url = 'redis://127.0.0.1:6379/{REDIS_DB}'" in config
    assert "up to date" in cluster.cli("db", "status").stdout
    cert = cluster.root / "etc/gongdan/tls/gongdan.crt"
    r = requests.get(f"https://localhost:{cluster.https_port}/healthz", verify=str(cert), timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["database"] is True and r.json()["checks"]["queue"] is True
    unit = (cluster.root / "etc/systemd/system/gongdan-web.service").read_text()
    assert "postgresql.service" not in unit  # the database is on another host


def test_a_ticket_lands_in_postgresql_and_a_backup_uses_pg_dump(cluster):
    cluster.python(POPULATE)
    subjects = _pg("SELECT subject FROM ticket ORDER BY subject", dbname=cluster.db_name)
    assert [s for (s,) in subjects] == [f"打印机坏了 {i}" for i in range(3)]
    assert not (cluster.root / "var/lib/gongdan/gongdan.db").exists()
    backup_file = cluster.root.parent / "cluster-backup.gdbk"
    run = cluster.play("backup.yml", inventory=cluster.inventory, gongdan_backup_file=str(backup_file))
    assert backup_file.exists() and "is intact" in run.said
    listing = json.dumps(run.output)
    assert cluster.vars["vault_gongdan_db_password"] not in listing
    verify = cluster.cli("backup", "verify", str(backup_file)).stdout
    assert "is intact" in verify



QUEUED = """
from appliance.bootstrap import boot
settings = boot()  # with the queue: jobs go to Redis as they are committed
from appliance.rules.access import SYSTEM
from appliance.services import customers, tickets
c = customers.create_customer(SYSTEM, "李雷")
tickets.create_ticket(SYSTEM, tickets.TicketInput(subject="队列测试", customer_id=c.id), settings)
"""


def test_the_worker_runs_jobs_sent_through_redis(cluster):
    sent = cluster.python(QUEUED)
    [(ticket_id,)] = _pg("SELECT id FROM ticket WHERE subject = '队列测试'", dbname=cluster.db_name)
    # Sent at commit, the jobs run within a second or two. The deadline also covers a
    # message that never reached Redis (the enqueue logs a warning and the outbox row
    # waits): the sweeper re-sends jobs older than sweeper_seconds (60) every minute.
    deadline, done = time.monotonic() + 150, []
    while time.monotonic() < deadline and not done:
        done = _pg("SELECT name FROM job WHERE object_id = %s AND done_at IS NOT NULL",
                   ticket_id, dbname=cluster.db_name)
        time.sleep(1)
    jobs = _pg("SELECT name, attempts, enqueued_at, done_at, last_error FROM job "
               "WHERE object_id = %s", ticket_id, dbname=cluster.db_name)
    log = (cluster.root / "var/log/gongdan/worker.log").read_text()
    ran = [line for line in log.splitlines() if "run_job" in line or "WARNING" in line
           or "ERROR" in line or "consumer started" in line]
    assert done, (jobs, sent.stderr[-2000:], ran[-40:], _redis().keys())
