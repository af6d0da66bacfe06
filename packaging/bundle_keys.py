"""The vendor's Ed25519 signing key: generation (`bundle.py keygen`) and loading."""
from __future__ import annotations

import os
from pathlib import Path

from bundle_sources import BuildError

PASSPHRASE_ENV = "GONGDAN_SIGNING_PASSPHRASE"


def keygen(out_dir: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key_path, pub_path = out_dir / "vendor-signing.key", out_dir / "vendor-signing.pub"
    for path in (key_path, pub_path):
        if path.exists():
            raise BuildError(f"{path} already exists: refusing to overwrite a signing key "
                             "(move it away first if you really mean to replace it)")
    passphrase = os.environ.get(PASSPHRASE_ENV, "").encode()
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    key = Ed25519PrivateKey.generate()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8, encryption))
    os.chmod(key_path, 0o400)
    pub_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    os.chmod(pub_path, 0o644)
    return key_path, pub_path


def load_signing_key(path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    if not path.is_file():
        raise BuildError(f"--signing-key: {path} does not exist; create one with "
                         f"`packaging/bundle.py keygen --out-dir {path.parent}`")
    passphrase = os.environ.get(PASSPHRASE_ENV, "").encode() or None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except TypeError:
        raise BuildError(f"--signing-key: {path} is encrypted: set {PASSPHRASE_ENV}") from None
    except ValueError as exc:
        raise BuildError(f"--signing-key: {path} cannot be read ({exc}); wrong "
                         f"{PASSPHRASE_ENV} or not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BuildError(f"--signing-key: {path} is not an Ed25519 key")
    return key
