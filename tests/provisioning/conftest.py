"""provisioning/ for real: site.yml, upgrade.yml, backup.yml and restore.yml run with
`-c local` against this machine into a throw-away root directory (gongdan_root) in
sandbox mode (docs/decisions/0035-provisioning.md). Bundles come from packaging/bundle.py
(tests/bundle_fixture.py, shared with tests/packaging). Web and worker are started from the
unit files the role wrote by launcher.py; nginx from the sandbox nginx.conf."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.bundle_fixture import build_bundle, built_bundle  # noqa: F401  (session fixture)

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "provisioning"
BIN = Path(sys.executable).parent
LAUNCHER = Path(__file__).with_name("launcher.py")
SINGLE = PROVISIONING / "inventories/single/hosts.yml"

pytestmark = pytest.mark.slow


def _need(path: Path, what: str) -> None:
    if not path.exists():
        pytest.skip(f"{path} is missing ({what})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build(out: Path, source: Path | None = None) -> tuple[Path, Path]:
    """A signed bundle of `source` (default: this working tree) and its public key."""
    return build_bundle(out, source=source)


@pytest.fixture(scope="session")
def current_bundle(built_bundle):
    _need(Path("/usr/sbin/nginx"), "Debian package nginx: make test-deps")
    _need(BIN / "ansible-playbook", "ansible-core from the test extra")
    return built_bundle


def previous_commit() -> str:
    with open(REPO / "packaging/releases.toml", "rb") as fh:
        return tomllib.load(fh)["previous"]["commit"]


def source_copy(dest: Path) -> Path:
    """This working tree's files (tracked and untracked, not ignored), as the build sees them."""
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"],
                         capture_output=True, check=True).stdout.decode()
    for name in filter(None, out.split("\0")):
        src = REPO / name
        if src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@dataclass
class Site:
    """One sandbox installation: its root, its variables and how to drive it."""
    root: Path
    bundle: Path
    pubkey: Path
    vars: dict = field(default_factory=dict)

    def __post_init__(self):
        self.https_port, self.http_port, self.app_port = free_port(), free_port(), free_port()
        self.control = f"{sys.executable} {LAUNCHER} --root {self.root}"
        self.vars = {
            "gongdan_root": str(self.root), "gongdan_sandbox": True,
            "gongdan_sandbox_control": self.control,
            "gongdan_bundle": str(self.bundle), "gongdan_vendor_pubkey": str(self.pubkey),
            "vault_gongdan_secret_key": secrets.token_hex(32),
            "gongdan_https_port": self.https_port, "gongdan_http_port": self.http_port,
            "gongdan_app_port": self.app_port, "gongdan_server_name": "localhost",
            "gongdan_min_disk_gb": 1, "gongdan_min_memory_mb": 1000,
            "gongdan_health_timeout": 90, **self.vars}

    def play(self, playbook: str, inventory: Path = SINGLE, check=True, **extra) -> "Run":
        vars_file = self.root.parent / f"{self.root.name}-vars.yml"
        vars_file.write_text(yaml.safe_dump({**self.vars, **extra}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GONGDAN_", "ANSIBLE_"))}
        env.update(ANSIBLE_CONFIG=str(PROVISIONING / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_HOME=str(self.root.parent / ".ansible"),
                   ANSIBLE_LOCAL_TEMP=str(self.root.parent / ".ansible/tmp"),
                   PATH=f"{BIN}:{env.get('PATH', '')}")
        r = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "-c", "local",
                            "-e", f"@{vars_file}", str(PROVISIONING / playbook)],
                           cwd=PROVISIONING, env=env, capture_output=True, text=True, timeout=900)
        run = Run(r.returncode, r.stdout + r.stderr)
        if check:
            assert run.rc == 0, run.output[-6000:]
        return run

    @property
    def config(self) -> Path:
        return self.root / "etc/gongdan/gongdan.toml"

    @property
    def gongdan(self) -> Path:
        return self.root / "opt/gongdan/current/venv/bin/gongdan"

    def cli(self, *args, check=True) -> subprocess.CompletedProcess:
        return self._run([str(self.gongdan), *args], check)

    def python(self, script: str, check=True) -> subprocess.CompletedProcess:
        return self._run([str(self.root / "opt/gongdan/current/venv/bin/python"), "-c", script], check)

    def _run(self, cmd, check):
        env = {k: v for k, v in os.environ.items() if not k.startswith("GONGDAN_")}
        env["GONGDAN_CONFIG"] = str(self.config)
        r = subprocess.run(cmd, env=env, cwd=self.root / "var/lib/gongdan", capture_output=True,
                           text=True, timeout=300)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r

    def launcher(self, action: str) -> str:
        return subprocess.run(self.control.split() + [action], capture_output=True, text=True,
                              check=True).stdout

    def stop_all(self) -> None:
        for action in ("stop", "nginx-stop"):
            subprocess.run(self.control.split() + [action], capture_output=True)


@dataclass
class Run:
    rc: int
    output: str

    @property
    def said(self) -> str:
        """The output with whitespace runs made single spaces: the YAML callback folds long
        messages at a width, so a phrase can break across lines (by the length of a path)."""
        return " ".join(self.output.split())

    @property
    def changed(self) -> int:
        found = re.findall(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)", self.output, re.M)
        assert found, self.output[-3000:]
        return sum(int(n) for n in found)

    def changed_tasks(self) -> list[str]:
        tasks, current = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                current = line
            elif line.startswith("changed:"):
                tasks.append(current)
        return tasks


# Data made with the app's own services inside the installed virtualenv: a customer with
# an encrypted phone number, tickets, one with an attachment, and an audit record.
PHONE = "13912345678"
ATTACHMENT = b"provisioning-test attachment 5c1e\n"
POPULATE = f"""
from appliance.bootstrap import boot
settings = boot(queue=False)
from appliance.rules.access import SYSTEM
from appliance.services import audit, customers, tickets
from appliance.services.attachments import Upload
from appliance.db import database
c = customers.create_customer(SYSTEM, "王小明", contacts=[{{"kind": "phone", "value": "{PHONE}"}}])
for i in range(3):
    tickets.create_ticket(SYSTEM, tickets.TicketInput(subject=f"打印机坏了 {{i}}", customer_id=c.id),
                          settings, uploads=[Upload("log.txt", {ATTACHMENT!r})] if i == 0 else None)
with database.atomic():
    audit.record("customer.pii_viewed", actor_id=0, object_type="customer", object_id=c.id)
"""
READ_BACK = f"""
import json
from appliance.bootstrap import boot
settings = boot(queue=False)
from appliance.models import Attachment, Ticket
from appliance.rules.access import SYSTEM
from appliance.services import attachments, customers
from appliance.db import database
c = customers.find_customer_by_contact(SYSTEM, "{PHONE}")
a = Attachment.select().first()
print(json.dumps({{
    "tickets": sorted(t.subject for t in Ticket.select()),
    "phone": [x.value for x in c.contacts] if c else None,
    "attachment": a is not None and attachments.read_file(settings, a.storage_name) == {ATTACHMENT!r},
    "audit": database.execute_sql("SELECT count(*) FROM audit_record").fetchone()[0],
}}))
"""
