"""`gongdan keys status|rotate`: rotating the master key and moving data to a new data key,
online, in short transactions, resumable after a crash (docs/decisions/0030).

Rotation, step by step; each step can be repeated, and a rerun after a crash resumes:
1. a new master key version: its check row is recorded first, then the key file is
   rewritten (atomically) with the old and the new version;
2. with --reencrypt, a new data key, and the older data keys retired (new values go to
   the new key within keys.REFRESH_SECONDS in every process);
3. every data key re-wrapped under the new master key, one short transaction each;
4. with --reencrypt, every encrypted value and attachment file under a retired key (or
   a file stored before encryption) moved to the newest data key, `batch` rows per
   transaction, each row updated only if it still holds what was read (an agent's save
   in between wins, already under the new key);
5. the old master version dropped from the key check and the key file.
A key file holding more than one version means a rotation is unfinished: the next
`keys rotate` resumes it instead of starting another. Retired data keys stay (a value
a process wrote just before it noticed the rotation is still readable); `keys status`
counts the values under each key.
"""
from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass

from appliance import keystore
from appliance.db import database
from appliance.models import (ArticleFile, Attachment, Callback, Conversation, Customer,
                              CustomerContact, DataKey, KeyCheck, MailMessage, User)
from appliance.services import attachments, encryption, keys
from appliance.settings import Settings
from security import envelope

# (model, column, table and column named in the associated data)
ENCRYPTED = ((CustomerContact, "value_enc", "customer_contact", "value"),
             (Customer, "name_enc", "customer", "name"),
             (Customer, "id_number_enc", "customer", "id_number"),
             (Customer, "address_enc", "customer", "address"),
             (Callback, "phone_enc", "callback", "phone"),
             (Conversation, "personal_enc", "conversation", "personal"),
             (MailMessage, "from_enc", "mail_message", "from"),
             (MailMessage, "to_enc", "mail_message", "to"),
             (User, "email_enc", "user", "email"))


@dataclass(frozen=True)
class Rotation:
    master_version: int
    resumed: bool
    rewrapped: int
    reencrypted: int
    files: int


PAUSE = 0.05  # seconds between re-encryption batches (see _reencrypt_column)


def rotate(settings: Settings, *, reencrypt: bool = False, batch: int = 500,
           environ=None, pause: float = PAUSE) -> Rotation:
    ring = keys.ring()
    masters = keystore.read_master(settings, environ)
    resumed = len(masters) > 1
    if not resumed:
        masters = _new_master(settings, masters, environ)
    ring.masters = masters
    target = max(masters)
    if reencrypt and (not resumed or not _retired_exists()):
        _new_data_key(ring)
    rewrapped = _rewrap(masters, target)
    moved = files = 0
    if reencrypt:
        moved = sum(_reencrypt_column(*spec, batch=batch, pause=pause) for spec in ENCRYPTED)
        files = _reencrypt_files(settings)
    _finish(settings, masters, target, environ)
    _audit(target, resumed, rewrapped, moved, files)
    return Rotation(target, resumed, rewrapped, moved, files)


def _new_master(settings: Settings, masters: dict[int, bytes], environ) -> dict[int, bytes]:
    checked = [r[0] for r in KeyCheck.select(KeyCheck.master_version).tuples()]
    version = max([*masters, *checked]) + 1
    # A check row left by a rotation that crashed before writing the key file is stale.
    KeyCheck.delete().where(KeyCheck.master_version.not_in(list(masters))).execute()
    new = envelope.new_key()
    KeyCheck.create(master_version=version, check_value=envelope.key_check(new))
    masters = {**masters, version: new}
    keystore.write_master(settings, masters, environ)
    return masters


def _retired_exists() -> bool:
    return DataKey.select().where((DataKey.purpose == "data")
                                  & DataKey.retired_at.is_null(False)).exists()


def _new_data_key(ring: keys.Ring) -> int:
    new_id = keys.new_data_key(ring, "data")
    for row in DataKey.select(DataKey.id).where((DataKey.purpose == "data")
                                                & (DataKey.id != new_id)):
        keys.retire(row.id)
    ring.current.clear()
    return new_id


def _rewrap(masters: dict[int, bytes], target: int) -> int:
    count = 0
    ids = [r[0] for r in DataKey.select(DataKey.id).where(DataKey.master_version != target)
           .order_by(DataKey.id).tuples()]
    for key_id in ids:
        with database.atomic():
            row = DataKey.get_by_id(key_id)
            if row.master_version == target:
                continue
            key = envelope.unwrap_key(masters[row.master_version], row.id,
                                      base64.b64decode(row.wrapped))
            wrapped = base64.b64encode(envelope.wrap_key(masters[target], row.id, key)).decode()
            count += DataKey.update(wrapped=wrapped, master_version=target).where(
                (DataKey.id == key_id) & (DataKey.master_version == row.master_version)).execute()
    return count


def _reencrypt_column(model, column: str, table: str, name: str, *, batch: int,
                      pause: float = 0.0) -> int:
    """Values of one column not under the newest data key, moved to it; returns how many.

    The cryptography runs outside any transaction; each batch's UPDATEs then run in one
    short transaction, and a pause follows it, so a waiting writer (an agent's save;
    SQLite's busy handler sleeps up to 100 ms between tries) gets the lock in between."""
    field = getattr(model, column)
    target, last, moved = keys.current_data_key()[0], 0, 0
    # Table and column names come from the model, never from input.
    sql = (f'UPDATE "{model._meta.table_name}" SET "{field.column_name}" = {database.param} '  # nosec B608
           f'WHERE "id" = {database.param} AND "{field.column_name}" = {database.param}')
    while True:
        rows = list(model.select(model.id, field).where(model.id > last)
                    .order_by(model.id).limit(batch).tuples())
        if not rows:
            return moved
        last = rows[-1][0]
        updates = [(_moved(table, name, row_id, tok), row_id, tok) for row_id, tok in rows
                   if tok and envelope.text_key_id(tok) != target]
        if updates:
            with database.atomic():  # only the writes: agents wait for at most this
                for params in updates:
                    moved += database.execute_sql(sql, params).rowcount
            time.sleep(pause)


def _moved(table: str, name: str, row_id: int, token: str) -> str:
    return encryption.seal(table, name, row_id, encryption.unseal(table, name, row_id, token))


def _reencrypt_files(settings: Settings) -> int:
    """Attachment and article files not under the newest data key (or stored before
    encryption), rewritten under it: a new file renamed over the old one."""
    target, count = keys.current_data_key()[0], 0
    names = [r[0] for r in Attachment.select(Attachment.storage_name).tuples()]
    names += [r[0] for r in ArticleFile.select(ArticleFile.storage_name).tuples()]
    for name in names:
        path = attachments._path(settings, name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        if envelope.is_encrypted_blob(data) and envelope.blob_key_id(data) == target:
            continue
        plain = attachments.read_file(settings, name)
        tmp = path.with_name(f".{name}.{os.getpid()}.new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(encryption.seal_bytes("attachment", name, plain))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        count += 1
    return count


def _finish(settings: Settings, masters: dict[int, bytes], target: int, environ) -> None:
    """Only the new master version is needed now: drop the others, check row first (a
    crash in between leaves a file with an unused old version, removed next time)."""
    KeyCheck.delete().where(KeyCheck.master_version != target).execute()
    if len(masters) > 1:
        keystore.write_master(settings, {target: masters[target]}, environ)
    keys.ring().masters = {target: masters[target]}


def _audit(target: int, resumed: bool, rewrapped: int, moved: int, files: int) -> None:
    from appliance.services import audit
    with database.atomic():
        audit.record("keys.rotated", actor_id=None, object_type="master_key",
                     object_id=target, detail={"resumed": resumed, "rewrapped": rewrapped,
                                               "reencrypted": moved, "files": files})


def status(settings: Settings, environ=None) -> dict:
    """What `keys status` prints: where the master key comes from, its versions, and each
    data key with the number of values under it."""
    masters = keystore.read_master(settings, environ)
    counts: dict[int, int] = {}
    for model, column, _, _ in ENCRYPTED:
        field = getattr(model, column)
        for (token,) in model.select(field).where(field != "").tuples():
            key_id = envelope.text_key_id(token)
            counts[key_id] = counts.get(key_id, 0) + 1
    return {"source": str(keystore.master_path(settings, environ)),
            "master_versions": sorted(masters),
            "rotation_unfinished": len(masters) > 1,
            "data_keys": [{"id": k.id, "purpose": k.purpose, "master_version": k.master_version,
                           "created_at": k.created_at, "retired_at": k.retired_at,
                           "values": counts.get(k.id, 0)}
                          for k in DataKey.select().order_by(DataKey.id)]}
