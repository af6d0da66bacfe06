"""The master key file: where it is read from, how it must be protected, how it is written.

Read from $CREDENTIALS_DIRECTORY/gongdan-master-key when systemd supplies credentials
(LoadCredential=/SetCredentialEncrypted=), otherwise from `<keys_dir>/master.key`. The
file holds one line per master key version, "<version> <base64 key>"; the highest
version is current, older ones stay until `gongdan keys rotate` has re-wrapped every
data key. A file readable by group or others, missing, unreadable or malformed stops
start-up with a message saying what to do (docs/decisions/0030-encryption-at-rest.md).
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

from appliance.settings import Settings
from security import envelope, keyfiles

MASTER_FILE = "master.key"
CREDENTIAL = "gongdan-master-key"


class KeyProblem(Exception):
    """The master key cannot be used; the message says what to do. Nothing was changed."""


def from_credentials(environ=None) -> Path | None:
    environ = os.environ if environ is None else environ
    folder = environ.get("CREDENTIALS_DIRECTORY")
    path = Path(folder) / CREDENTIAL if folder else None
    return path if path is not None and path.exists() else None


def master_path(settings: Settings, environ=None) -> Path:
    return from_credentials(environ) or Path(settings.keys_dir) / MASTER_FILE


def read_master(settings: Settings, environ=None) -> dict[int, bytes]:
    """{version: key}; raises KeyProblem naming the file and the fix."""
    path = master_path(settings, environ)
    try:
        raw = keyfiles.read_private(path, "master key file").decode("ascii")
    except keyfiles.KeyFileProblem as exc:
        raise KeyProblem(f"{exc} (the data cannot be read without it)") from None
    except UnicodeDecodeError:
        raise KeyProblem(f"the master key file {path} is malformed (not ASCII); restore it "
                         f"from your backup") from None
    return _parse(raw, path)


def _parse(raw: str, path: Path) -> dict[int, bytes]:
    versions = {}
    lines = [x.split() for x in raw.splitlines() if x.strip() and not x.startswith("#")]
    for parts in lines:
        if len(parts) == 1 and len(lines) == 1:
            parts = ["1", parts[0]]  # a bare key (a systemd credential made by hand)
        try:
            version, key = int(parts[0]), base64.b64decode(parts[1], validate=True)
        except (ValueError, IndexError):
            key, version = b"", 0
        if len(parts) != 2 or len(key) != envelope.KEY_BYTES or version < 1:
            raise KeyProblem(f"the master key file {path} is malformed (expected lines "
                             f"'<version> <base64 of 32 bytes>'); restore it from your backup")
        versions[version] = key
    if not versions:
        raise KeyProblem(f"the master key file {path} is empty; restore it from your backup")
    return versions


def write_master(settings: Settings, versions: dict[int, bytes], environ=None) -> Path:
    """Replace the key file atomically (a new file, mode 0400, renamed over the old one),
    so a crash leaves either the old or the new file, never half of one."""
    if from_credentials(environ) is not None:
        raise KeyProblem("the master key comes from systemd credentials, which this "
                         "process cannot change; see docs/decisions/0030-encryption-at-rest.md "
                         "(rotating a credential-supplied key)")
    path = Path(settings.keys_dir) / MASTER_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{MASTER_FILE}.{os.getpid()}.new")
    tmp.unlink(missing_ok=True)
    lines = ["# gongdan master keys: back this file up apart from the database"]
    lines += [f"{v} {base64.b64encode(versions[v]).decode()}" for v in sorted(versions)]
    keyfiles.write_new(tmp, ("\n".join(lines) + "\n").encode("ascii"))
    os.replace(tmp, path)
    return path


def create_master(settings: Settings, environ=None) -> Path | None:
    """A first master key for a new installation; None (and nothing written) when one
    exists already: an existing key is never overwritten."""
    if from_credentials(environ) is not None:
        return None
    path = Path(settings.keys_dir) / MASTER_FILE
    if path.exists():
        return None
    return write_master(settings, {1: envelope.new_key()}, environ)
