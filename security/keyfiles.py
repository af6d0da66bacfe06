"""Key files on disk: read only when private to the service user, written once, whole.

Shared by the master key (appliance/keystore.py) and the audit keys
(appliance/audit_keys.py), so both refuse the same things with the same advice.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


class KeyFileProblem(Exception):
    """A key file cannot be used; the message names the file and what to do."""


def read_private(path: Path, what: str) -> bytes:
    """The file's bytes; refuses a missing or unreadable file and one that group or
    others could read (a key anyone on the box can read protects nothing)."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileProblem(
            f"no {what} at {path}: on a new installation run `gongdan init`, which creates "
            f"it; otherwise restore it from your key backup (setting keys_dir)") from None
    except OSError as exc:
        raise KeyFileProblem(
            f"the {what} {path} cannot be read ({exc.__class__.__name__}): it must belong "
            f"to the user the service runs as, mode 0400") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileProblem(
            f"the {what} {path} is readable by other users (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); run `chmod 0400 {path}` and start again")
    return data


def write_new(path: Path, data: bytes, mode: int = 0o400) -> None:
    """Create `path` with `data` and `mode`; never replaces an existing file (O_EXCL), and
    the bytes are on disk (fsync) before this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
