"""Encrypting and decrypting PII where services store and read it, and blind indexes.

Each value is bound to where it lives (table|column|row id): a ciphertext copied onto
another row or column does not open. A value that fails authentication is reported as
an audit event ("crypto.tamper_detected", naming the record, never the value) and
raised as TamperedData: it is never shown as garbage or as an empty field.
"""
from __future__ import annotations

import logging

from appliance.errors import DomainError
from appliance.services import keys
from security import envelope

log = logging.getLogger(__name__)


TAMPERED_VALUE = ("a stored encrypted value failed authentication and was not shown; "
                  "restore it from a backup")
TAMPERED_FILE = "a stored file failed authentication and was not served; restore it from a backup"


class TamperedData(DomainError):
    """A stored encrypted value or file failed authentication (altered, moved, or made
    under another key)."""
    code = "tampered_data"
    http_status = 500


def seal(table: str, column: str, row_id: int, value: str) -> str:
    """The ciphertext of `value` for this table/column/row ("" stays "")."""
    if not value:
        return ""
    key_id, key = keys.current_data_key()
    return envelope.encrypt_text(key, key_id, value, envelope.field_aad(table, column, row_id))


def unseal(table: str, column: str, row_id: int, token: str) -> str:
    if not token:
        return ""
    try:
        return envelope.decrypt_text(keys.data_key, token,
                                     envelope.field_aad(table, column, row_id))
    except envelope.CryptoError as exc:
        _report(table, row_id, column, exc)
        raise TamperedData(TAMPERED_VALUE, table=table, column=column, id=row_id) from None


def seal_bytes(kind: str, object_id: int, data: bytes) -> bytes:
    key_id, key = keys.current_data_key()
    return envelope.encrypt_bytes(key, key_id, data, f"{kind}|{object_id}".encode())


def unseal_bytes(kind: str, object_id: int, data: bytes) -> bytes:
    try:
        return envelope.decrypt_bytes(keys.data_key, data, f"{kind}|{object_id}".encode())
    except envelope.CryptoError as exc:
        _report(kind, object_id, "file", exc)
        raise TamperedData(TAMPERED_FILE, table=kind, id=object_id) from None


def blind(kind: str, value: str) -> str:
    """The blind index of an (already normalised) contact, ID number, ...; "" for ""."""
    return envelope.blind_index(keys.index_key(), kind, value) if value else ""


def _report(table: str, row_id: int, column: str, exc: Exception) -> None:
    log.error("encrypted %s.%s of #%s failed authentication: %s", table, column, row_id,
              exc.__class__.__name__)
    from appliance.services import audit  # imported late: audit imports this module's peers
    try:
        audit.record("crypto.tamper_detected", actor_id=None, object_type=table,
                     object_id=row_id, result="failure",
                     detail={"column": column, "error": exc.__class__.__name__})
    except Exception:  # the read is refused either way; the log line above stays
        log.exception("the crypto.tamper_detected audit event could not be written")
