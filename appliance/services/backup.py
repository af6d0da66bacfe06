"""Backups of an installation: create, verify, restore (docs/decisions/0032-backups.md).

A backup is a tar stream sealed by security.backup_stream: a consistent snapshot of the
database (SQLite online backup API, or `pg_dump --format=custom`), the attachment store
as it is on disk (already encrypted), and MANIFEST.json last (format, versions, schema
migrations, every file's size and SHA-256). Not inside: the keys (keys_dir; a backup
stolen with its keys protects nothing), the search index (a cache: `gongdan search
rebuild`), the task queue (transient jobs) and the model files (from the bundle).

Restore reads the file once, into staging folders next to the targets, checking every
chunk and then every hash against the manifest; only when all of it is good are the
staged folders renamed into place. Nothing of the installation changes before that.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump / pg_restore with fixed argument lists
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from appliance import __version__, audit_keys, keystore
from appliance.migrate import MIGRATIONS_DIR
from appliance.settings import Settings
from security import backup_stream
from security.backup_stream import BackupError, Tampered

MANIFEST = "MANIFEST.json"
DB_SQLITE = "database/gongdan.sqlite3"
DB_PG = "database/gongdan.pgdump"
ATTACHMENTS = "attachments/"
MANIFEST_MAX = 256 * 1024 * 1024
_AUDIT_CHECK = b"gongdan backup audit key check v1"
NOT_INCLUDED = ["keys_dir (back it up separately)", "search index (a cache: run "
                "`gongdan search rebuild` after a restore)", "task queue", "model files"]


class BackupProblem(Exception):
    """The backup cannot be made or restored; the message says what to do."""
    kind = "failed"

    def __init__(self, message: str, kind: str = "failed"):
        super().__init__(message)
        self.kind = kind


@dataclass
class Summary:
    path: Path
    bytes: int = 0
    files: int = 0
    attachments: int = 0
    seconds: float = 0.0
    manifest: dict = field(default_factory=dict)
    set_aside: list[Path] = field(default_factory=list)


# --- where things are ---------------------------------------------------------------------

def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.database_url
    return Path(url[len("sqlite:///"):]).resolve() if url.startswith("sqlite:///") else None


def _attachment_files(settings: Settings):
    """(path relative to the store, absolute path) of every regular file, sorted."""
    root = Path(settings.attachment_dir)
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(root).as_posix(), path


def _known_migrations() -> set[str]:
    return {p.stem for p in Path(MIGRATIONS_DIR).glob("[0-9]*.py")}


def _audit_fingerprint(settings: Settings) -> dict:
    """Which audit keys the records in this backup were chained and signed with: the
    public key id and an HMAC of a fixed label (neither reveals a key)."""
    keys = audit_keys.load(settings)
    return {"audit_key_id": keys.key_id,
            "audit_hmac_check": hmac.new(keys.hmac, _AUDIT_CHECK, hashlib.sha256).hexdigest()[:32]}


# --- database snapshots -------------------------------------------------------------------

def _pg_command(settings: Settings, program: str) -> tuple[list[str], dict]:
    """Connection arguments from database_url; the password goes in the environment,
    never on a command line that `ps` shows."""
    binary = shutil.which(program)
    if binary is None:
        raise BackupProblem(f"{program} was not found on PATH: install the PostgreSQL client "
                            f"programs (Debian: postgresql-client) matching the server version")
    u = urlparse(settings.database_url)
    args = [binary, "--host", u.hostname or "localhost", "--port", str(u.port or 5432),
            "--dbname", u.path.lstrip("/"), "--no-password"]
    if u.username:
        args += ["--username", unquote(u.username)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if u.password:
        env["PGPASSWORD"] = unquote(u.password)
    return args, env


def _run(args: list[str], env: dict, what: str) -> None:
    r = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if r.returncode != 0:
        # The first lines only: enough to say what went wrong, no row data.
        raise BackupProblem(f"{what} failed (exit {r.returncode}): "
                            f"{' '.join(r.stderr.strip().splitlines()[:3])}")


def _snapshot(settings: Settings, folder: Path) -> tuple[str, Path, list[str]]:
    """(member name, file, applied migrations) of a consistent copy of the database."""
    sqlite_path = _sqlite_path(settings)
    if sqlite_path is None:
        out = folder / "db.pgdump"
        args, env = _pg_command(settings, "pg_dump")
        _run(args + ["--format=custom", "--no-owner", "--no-privileges", "--file", str(out)],
             env, "pg_dump")
        from appliance.db import database
        rows = database.execute_sql("SELECT name FROM schema_migration ORDER BY id").fetchall()
        return DB_PG, out, [r[0] for r in rows]
    if not sqlite_path.is_file():
        raise BackupProblem(f"no database at {sqlite_path}: nothing to back up")
    out = folder / "db.sqlite3"
    # The online backup API copies a consistent snapshot page by page while the service
    # keeps running; copying the file itself could tear a WAL database.
    src = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)
        migrations = [r[0] for r in dst.execute("SELECT name FROM schema_migration ORDER BY id")]
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()
    return DB_SQLITE, out, migrations


# --- create -------------------------------------------------------------------------------

class _Hashing:
    """Reads through a file, hashing what tarfile copies."""

    def __init__(self, fh):
        self._fh, self.sha, self.size = fh, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path) -> dict:
    with open(path, "rb") as fh:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = os.fstat(fh.fileno()).st_size, 0o600, int(time.time())
        reader = _Hashing(fh)
        tar.addfile(info, reader)
    return {"name": name, "size": reader.size, "sha256": reader.sha.hexdigest()}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def create(settings: Settings, out: Path) -> Summary:
    """Write an encrypted backup to `out` (refuses to replace a file). The file appears
    under its name only when complete (written aside, fsynced, renamed)."""
    started, out = time.monotonic(), Path(out).resolve()
    if out.exists():
        raise BackupProblem(f"{out} exists already; choose a new file name")
    masters = keystore.read_master(settings)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    folder = Path(tempfile.mkdtemp(prefix=".gongdan-backup-", dir=out.parent))  # mode 0700
    try:
        member, db_file, migrations = _snapshot(settings, folder)
        header, key = backup_stream.new_header(masters, now)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            writer = backup_stream.Writer(fh, header, key)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                files = [_add(tar, member, db_file)]
                files += [_add(tar, ATTACHMENTS + rel, path)
                          for rel, path in _attachment_files(settings)]
                manifest = {"format": 1, "app_version": __version__, "created_at": now,
                            "database": {"backend": "sqlite" if member == DB_SQLITE
                                         else "postgresql", "member": member},
                            "migrations": migrations, "files": files,
                            "not_included": NOT_INCLUDED, **_audit_fingerprint(settings)}
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    return Summary(out, out.stat().st_size, len(files), len(files) - 1,
                   time.monotonic() - started, manifest)


# --- read (verify, restore) ---------------------------------------------------------------

def _safe_member(name: str) -> bool:
    if name in (MANIFEST, DB_SQLITE, DB_PG):
        return True
    parts = name.split("/")
    return (name.startswith(ATTACHMENTS) and len(parts) > 1
            and all(p not in ("", ".", "..") for p in parts[1:]) and "\\" not in name)


def _read(settings: Settings, path: Path, sink) -> dict:
    """Decrypt, authenticate and unpack the whole file; `sink(name, fileobj, size)` takes
    each member and returns its SHA-256. Returns the manifest once every file matched."""
    masters = keystore.read_master(settings)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise BackupProblem(f"cannot read {path} ({exc.__class__.__name__})",
                            "unreadable") from None
    with fh:
        fields, reader = backup_stream.open_stream(fh, masters)
        seen, manifest = {}, None
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for m in tar:
                    if manifest is not None or not m.isfile() or not _safe_member(m.name) \
                            or m.name in seen:
                        raise Tampered(f"the backup holds an unexpected entry after "
                                       f"{len(seen)} files")
                    src = tar.extractfile(m)
                    if m.name == MANIFEST:
                        manifest = _parse_manifest(src.read(MANIFEST_MAX))
                    else:
                        seen[m.name] = (m.size, sink(m.name, src, m.size))
        except tarfile.TarError:
            raise Tampered("the archive inside the backup is damaged") from None
        reader.drain()
    _check_manifest(manifest, seen)
    manifest["header"] = {k: fields[k] for k in ("format", "created_at", "master_version")}
    return manifest


def _parse_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
        manifest["listed"] = {f["name"]: (f["size"], f["sha256"]) for f in manifest["files"]}
    except (ValueError, TypeError, KeyError):
        raise Tampered("the backup's manifest is damaged") from None
    return manifest


def _check_manifest(manifest: dict | None, seen: dict) -> None:
    if manifest is None:
        raise Tampered("the backup has no manifest")
    listed = manifest.pop("listed")
    if listed != seen:
        bad = sorted(set(listed) ^ set(seen)) or sorted(n for n in listed if listed[n] != seen[n])
        raise Tampered(f"{len(bad)} file(s) of the backup do not match its manifest")


def _hash_only(name: str, src, size: int) -> str:
    sha = hashlib.sha256()
    for block in iter(lambda: src.read(1 << 20), b""):
        sha.update(block)
    return sha.hexdigest()


def verify(settings: Settings, path: Path) -> Summary:
    """Read and check the whole file; touches nothing. Raises BackupError/BackupProblem."""
    started = time.monotonic()
    manifest = _read(settings, Path(path), _hash_only)
    files = manifest["files"]
    return Summary(Path(path), Path(path).stat().st_size, len(files), len(files) - 1,
                   time.monotonic() - started, manifest)


# --- restore ------------------------------------------------------------------------------

def installation_state(settings: Settings) -> str:
    """'' when there is nothing to lose, else what is there (no contents named)."""
    found = []
    sqlite_path = _sqlite_path(settings)
    if sqlite_path is not None and sqlite_path.is_file() and sqlite_path.stat().st_size:
        conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
        try:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
        except sqlite3.DatabaseError:
            tables = 1  # unreadable: still something an operator may want to keep
        finally:
            conn.close()
        if tables:
            found.append(f"a database with {tables} tables")
    elif sqlite_path is None:
        from appliance.db import bind_database, database
        bind_database(settings.database_url)
        tables = len(database.get_tables())
        database.close()
        if tables:
            found.append(f"a database with {tables} tables")
    n = sum(1 for _ in _attachment_files(settings))
    if n:
        found.append(f"{n} attachment files")
    return " and ".join(found)


def users_of_database(settings: Settings) -> list[str]:
    """Other processes (SQLite: any process with the file, its WAL or shared memory open;
    PostgreSQL: other sessions on the database) that a restore would pull the data from
    under. Empty when nobody uses it. Processes of other users are invisible to a
    non-root caller; the service's own web and worker run as the same user."""
    sqlite_path = _sqlite_path(settings)
    if sqlite_path is not None:
        return _sqlite_openers(sqlite_path)
    from appliance.db import bind_database, database
    bind_database(settings.database_url)
    try:
        rows = database.execute_sql(
            "SELECT pid, coalesce(application_name, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'").fetchall()
    finally:
        database.close()
    return [f"PostgreSQL session {pid}" + (f" ({app})" if app else "") for pid, app in rows]


def _sqlite_openers(db: Path) -> list[str]:
    targets = {str(db), f"{db}-wal", f"{db}-shm"}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in targets for fd in (proc / "fd").iterdir()):
                found.append(f"process {proc.name} ({_command(proc)})")
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def _command(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:80]
    except OSError:
        return "?"


def _check_restorable(settings: Settings, manifest: dict) -> None:
    unknown = sorted(set(manifest.get("migrations", [])) - _known_migrations())
    if unknown:
        raise BackupProblem(f"the backup comes from a newer Gongdan (schema migrations "
                            f"{', '.join(unknown)} are unknown here): install that version "
                            f"first", "newer_version")
    try:
        mine = _audit_fingerprint(settings)
    except audit_keys.AuditKeyProblem as exc:
        raise BackupProblem(f"{exc}", "wrong_key") from None
    if any(manifest.get(k) != v for k, v in mine.items()):
        raise BackupProblem(f"the audit keys in {settings.keys_dir} are not the ones this "
                            f"backup's audit log was made with: restore keys_dir from the key "
                            f"backup taken with it", "wrong_key")


class _Stage:
    """Staging places beside the targets (same file system, so the swap is a rename)."""

    def __init__(self, settings: Settings):
        tag = f"restore-{secrets.token_hex(4)}"
        self.attachments = Path(settings.attachment_dir).resolve()
        self.attachments.parent.mkdir(parents=True, exist_ok=True)
        self.stage_att = self.attachments.with_name(f".{self.attachments.name}.{tag}")
        self.stage_att.mkdir(mode=0o700)
        self.db = _sqlite_path(settings)
        if self.db is not None:
            self.db.parent.mkdir(parents=True, exist_ok=True)
            self.stage_db = self.db.with_name(f".{self.db.name}.{tag}")
        else:
            self.stage_db = self.stage_att.with_name(self.stage_att.name + ".pgdump")

    def sink(self, name: str, src, size: int) -> str:
        if name in (DB_SQLITE, DB_PG):
            target = self.stage_db
        else:
            target = self.stage_att / name[len(ATTACHMENTS):]
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sha = hashlib.sha256()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            for block in iter(lambda: src.read(1 << 20), b""):
                sha.update(block)
                fh.write(block)
            fh.flush()
            os.fsync(fh.fileno())
        return sha.hexdigest()

    def discard(self) -> None:
        shutil.rmtree(self.stage_att, ignore_errors=True)
        self.stage_db.unlink(missing_ok=True)


def _aside(path: Path, stamp: str) -> Path | None:
    if not path.exists():
        return None
    moved = path.with_name(f"{path.name}.before-restore-{stamp}")
    os.replace(path, moved)
    return moved


def _swap(settings: Settings, stage: _Stage) -> list[Path]:
    """Attachments first (a restored row never names a file that is not there), then the
    database; what was there before is renamed aside, never deleted."""
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    moved = [_aside(stage.attachments, stamp)]
    os.replace(stage.stage_att, stage.attachments)
    if stage.db is not None:
        # The old WAL and shared-memory files go with the old database: a WAL left behind
        # would be replayed into the restored file.
        moved += [_aside(stage.db.with_name(stage.db.name + ext), stamp)
                  for ext in ("", "-wal", "-shm")]
        os.replace(stage.stage_db, stage.db)
    else:
        args, env = _pg_command(settings, "pg_restore")
        # One transaction: the database is either as it was or fully restored.
        _run(args + ["--clean", "--if-exists", "--single-transaction", "--no-owner",
                     "--no-privileges", "--exit-on-error", str(stage.stage_db)],
             env, "pg_restore")
        stage.stage_db.unlink(missing_ok=True)
    return [m for m in moved if m is not None]


def restore(settings: Settings, path: Path, force: bool = False) -> Summary:
    """Verify while staging, then swap into place. Stop web and worker first."""
    started = time.monotonic()
    keystore.read_master(settings)  # a missing key file says so before anything is read
    present = installation_state(settings)
    users = users_of_database(settings)
    if users:  # never, --force or not: the running app would keep writing the old data
        raise BackupProblem(f"the database is in use by {', '.join(users[:5])}"
                            f"{' and others' if len(users) > 5 else ''}: stop web and worker "
                            f"first (systemctl stop gongdan-web gongdan-worker)", "in_use")
    if present and not force:
        raise BackupProblem(f"the installation is not empty ({present}); restoring would "
                            f"replace it. Stop the service and run again with --force "
                            f"(what is there now is kept aside, renamed)", "not_empty")
    stage = _Stage(settings)
    try:
        manifest = _read(settings, Path(path), stage.sink)
        _check_restorable(settings, manifest)
        moved = _swap(settings, stage)
    except BaseException:
        stage.discard()
        raise
    files = manifest["files"]
    return Summary(Path(path), Path(path).stat().st_size, len(files), len(files) - 1,
                   time.monotonic() - started, manifest, moved)


def check_restored(settings: Settings) -> dict:
    """After a restore (database bound, keys active): the audit chain verifies and every
    ticket, encrypted value (every column key rotation covers) and attachment reads.
    Counts only, never values."""
    from appliance.models import Article, ArticleFile, Attachment, CustomerContact, Ticket
    from appliance.services import attachments, audit, encryption
    from appliance.services.key_rotation import ENCRYPTED
    report = audit.verify()
    n_values = 0
    for model, column, table, name in ENCRYPTED:
        field = getattr(model, column)
        for row_id, token in model.select(model.id, field).where(field != "").tuples():
            encryption.unseal(table, name, row_id, token)
            n_values += 1
    n_contacts = CustomerContact.select().count()
    n_files = 0
    for model in (Attachment, ArticleFile):
        for row in model.select(model.storage_name):
            attachments.read_file(settings, row.storage_name)
            n_files += 1
    return {"audit_ok": report.ok, "audit_records": report.records,
            "tickets": Ticket.select().count(), "articles": Article.select().count(),
            "contacts": n_contacts, "encrypted_values": n_values, "files": n_files}


def record(action: str, result: str = "success", detail: dict | None = None) -> None:
    from appliance.db import database
    from appliance.services import audit
    with database.atomic():
        audit.record(action, actor_id=0, object_type="backup", result=result, detail=detail)


def record_failure(settings: Settings, kind: str) -> bool:
    """backup.verify_failed in this installation's audit log, when there is one to write
    to (on a new box, before a restore, there is none: nothing is created for it)."""
    sqlite_path = _sqlite_path(settings)
    if sqlite_path is not None and not sqlite_path.is_file():
        return False
    try:
        from appliance.bootstrap import boot
        boot(settings, queue=False)
        record("backup.verify_failed", "failure", {"reason": kind})
        return True
    except Exception:  # noqa: BLE001  # a failed verify must report itself either way
        return False
