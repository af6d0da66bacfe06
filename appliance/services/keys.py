"""The process's encryption keys: the master key versions read at start-up, the data keys
they unwrap, the blind-index key, and the check that the master key is the right one.

`activate(settings)` runs at start-up (appliance.bootstrap.boot) before any request: a
missing, unreadable, over-readable or wrong master key stops the process there
(keystore.KeyProblem), so no data is ever served in plaintext or written under a key
the database does not know. On a database's first start it records the key check and
creates the blind-index key and the first data key, each in its own short transaction
outside any caller's (a data key that a rolled-back transaction took with it would make
the values written under it unreadable). Rotation lives in services.key_rotation.
"""
from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import peewee

from appliance import keystore
from appliance.db import database
from appliance.keystore import KeyProblem
from appliance.models import DataKey, KeyCheck, utcnow
from appliance.settings import Settings
from security import envelope

REFRESH_SECONDS = 30  # how soon a process writes under a data key rotated by another one


@dataclass
class Ring:
    """Master keys, plus data keys cached per database (key ids are row ids: a process
    bound to another database, as tests and migrations are, must not reuse them)."""
    masters: dict[int, bytes]
    source: Path
    settings: Settings | None = None
    environ: dict | None = None
    data: dict[tuple[str, int], bytes] = field(default_factory=dict)
    current: dict[str, tuple[int, float]] = field(default_factory=dict)
    index: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _db() -> str:
    return f"{type(database.obj).__name__}:{database.obj.database}"


_ring: Ring | None = None

__all__ = ["KeyProblem", "activate", "ring", "data_key", "current_data_key", "index_key"]


def activate(settings: Settings, environ=None) -> Ring:
    """Load and check the master key; raises KeyProblem with what to do."""
    global _ring
    ring = Ring(keystore.read_master(settings, environ), keystore.master_path(settings, environ),
                settings, environ)
    opened = database.connect(reuse_if_open=True)
    try:
        if "key_check" in database.get_tables():  # before migration 0018: nothing to check
            _verify(ring)
            _ensure_keys(ring)
    finally:
        if opened:
            database.close()  # a gunicorn master must not hand its connection to workers
    _ring = ring
    return ring


def ring() -> Ring:
    if _ring is None:
        raise KeyProblem("the encryption keys are not loaded: start the process through "
                         "appliance.bootstrap.boot (gongdan serve / worker / CLI)")
    return _ring


def _verify(ring: Ring) -> None:
    checks = {r.master_version: r.check_value for r in KeyCheck.select()}
    if not checks:
        if DataKey.select().exists():
            raise KeyProblem("this database has data keys but no master key check; restore "
                             "the key_check table from a backup")
        _first_use(ring)
        return
    good = [v for v, c in checks.items() if v in ring.masters
            and envelope.key_check(ring.masters[v]) == c]
    bad = [v for v, c in checks.items() if v in ring.masters and v not in good]
    if bad or not good:
        raise KeyProblem(f"the master key in {ring.source} is not the key this database was "
                         f"set up with (key check failed). Start with the right key file, "
                         f"restored from your key backup; nothing was read or changed.")
    needed = {r[0] for r in DataKey.select(DataKey.master_version).distinct().tuples()}
    missing = sorted(needed - set(ring.masters))
    if missing:
        raise KeyProblem(f"data keys are wrapped by master key version(s) {missing}, which "
                         f"{ring.source} does not hold; restore the key file from your backup "
                         f"or finish `gongdan keys rotate` with the file it wrote")


def _first_use(ring: Ring) -> None:
    version = max(ring.masters)
    try:
        with database.atomic():
            KeyCheck.create(master_version=version,
                            check_value=envelope.key_check(ring.masters[version]))
    except peewee.IntegrityError:
        _verify(ring)  # another process recorded its key first: it must be this one


def _ensure_keys(ring: Ring) -> None:
    """The blind-index key and a data key exist (created here, never in a caller's
    transaction). Two processes starting at once may both make a data key: harmless.
    Only the oldest index key is ever used, so a race there is harmless too."""
    if not DataKey.select().where(DataKey.purpose == "index").exists():
        new_data_key(ring, "index")
    if not DataKey.select().where((DataKey.purpose == "data")
                                  & DataKey.retired_at.is_null()).exists():
        new_data_key(ring, "data")


def new_data_key(ring: Ring, purpose: str = "data") -> int:
    version = max(ring.masters)
    with database.atomic():
        row = DataKey.create(purpose=purpose, wrapped="", master_version=version)
        key = envelope.new_key()
        wrapped = envelope.wrap_key(ring.masters[version], row.id, key)
        DataKey.update(wrapped=base64.b64encode(wrapped).decode()).where(
            DataKey.id == row.id).execute()
    with ring.lock:
        ring.data[(_db(), row.id)] = key
    return row.id


def data_key(key_id: int) -> bytes:
    """The data key with this id (cached once unwrapped)."""
    r = ring()
    key = r.data.get((_db(), key_id))
    if key is not None:
        return key
    row = DataKey.get_or_none(DataKey.id == key_id)
    if row is None or not row.wrapped:
        raise envelope.UnknownKeyError(f"data key {key_id} does not exist in this database")
    master = r.masters.get(row.master_version)
    if master is None and r.settings is not None:
        # `gongdan keys rotate` (another process) re-wrapped it under a newer master key.
        r.masters = keystore.read_master(r.settings, r.environ)
        master = r.masters.get(row.master_version)
    if master is None:
        raise KeyProblem(f"data key {key_id} is wrapped by master key version "
                         f"{row.master_version}, which {r.source} does not hold")
    key = envelope.unwrap_key(master, row.id, base64.b64decode(row.wrapped))
    with r.lock:
        r.data[(_db(), key_id)] = key
    return key


def current_data_key() -> tuple[int, bytes]:
    """(id, key) of the data key new values are written under: the newest unretired one,
    looked up again every REFRESH_SECONDS so a rotation elsewhere is followed."""
    r, db, now = ring(), _db(), time.monotonic()
    key_id, checked_at = r.current.get(db, (None, 0.0))
    if key_id is None or now - checked_at > REFRESH_SECONDS:
        key_id = (DataKey.select(DataKey.id).where((DataKey.purpose == "data")
                                                   & DataKey.retired_at.is_null())
                  .order_by(DataKey.id.desc()).scalar())
        if key_id is None:
            raise KeyProblem("no data key: run `gongdan db upgrade` (or restart the service), "
                             "which creates one")
        r.current[db] = (key_id, now)
    return key_id, data_key(key_id)


def index_key() -> bytes:
    r, db = ring(), _db()
    if db not in r.index:
        row = (DataKey.select(DataKey.id).where(DataKey.purpose == "index")
               .order_by(DataKey.id).scalar())
        if row is None:
            raise KeyProblem("no blind-index key: run `gongdan db upgrade`, which creates one")
        r.index[db] = data_key(row)
    return r.index[db]


def retire(key_id: int) -> None:
    DataKey.update(retired_at=utcnow()).where(
        (DataKey.id == key_id) & DataKey.retired_at.is_null()).execute()
