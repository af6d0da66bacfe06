"""The public form's token and the keyed hashes a post leaves behind.

A form token is signed (secret_key, salt `gongdan.webform`), bound to one form, and
carries its issue time and a random nonce. The nonce makes the token single-use: the
post that opens a ticket records the nonce's SHA-256 (unique, services.webform_log), so
a second post with the same token (a double click, a browser resubmit, a replay) opens
nothing. The post's own fingerprint (`post_hash`) tells a resubmit of the same post,
which gets the first answer again, from a different post made with a used token.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from appliance.errors import DomainError
from appliance.services.attachments import Upload
from appliance.settings import Settings

TOKEN_MAX_AGE = 2 * 3600
MIN_FILL_SECONDS = 2.0


class FormTokenError(DomainError):
    """The form token is missing, forged, for another form, expired, too fresh, or was
    used already by a different post."""
    code = "form_token"
    http_status = 400

    def __init__(self, reason: str):
        super().__init__(f"form token {reason}", reason=reason)
        self.reason = reason  # missing | invalid | expired | too_fast | used


@dataclass(frozen=True)
class Seal:
    """What a post proves about itself: the hashed nonce of its token and its fingerprint."""
    nonce_hash: str
    post_hash: str


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="gongdan.webform")


def issue_token(slug: str, settings: Settings, now: float | None = None) -> str:
    """A token for one fill of the form: signed, bound to the slug, with the issue time and
    a nonce (128 random bits)."""
    return _serializer(settings).dumps({"f": slug, "i": time.time() if now is None else now,
                                        "n": secrets.token_urlsafe(16)})


def _payload(token: str, settings: Settings) -> dict:
    if not token:
        raise FormTokenError("missing")
    try:
        data = _serializer(settings).loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise FormTokenError("expired") from None
    except BadSignature:
        raise FormTokenError("invalid") from None
    return data if isinstance(data, dict) else {}


def check_token(token: str, slug: str, settings: Settings, now: float | None = None) -> str:
    """The token's nonce, if the token is good for a post to this form now. A token
    issued before tokens had nonces is refused as invalid (the form comes back with a new
    one)."""
    now = time.time() if now is None else now
    data = _payload(token, settings)
    nonce = data.get("n")
    if data.get("f") != slug or not isinstance(data.get("i"), (int, float)) or \
            not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
        raise FormTokenError("invalid")
    age = now - data["i"]
    if age > TOKEN_MAX_AGE:  # the signature's own clock has whole seconds only
        raise FormTokenError("expired")
    if age < MIN_FILL_SECONDS:
        raise FormTokenError("too_fast")
    return nonce


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(b"webform-nonce:" + nonce.encode()).hexdigest()


def post_hash(fields: tuple[str, ...], uploads: list[Upload], settings: Settings) -> str:
    """A keyed fingerprint of what was posted (the fields and each file's name and
    content), so the table holds nothing that can be checked against a guess offline."""
    files = [[u.filename, hashlib.sha256(u.data).hexdigest()] for u in uploads]
    body = json.dumps([list(fields), files], ensure_ascii=False).encode()
    return hmac.new(settings.secret_key.encode(), b"webform-post:" + body,
                    hashlib.sha256).hexdigest()


def client_hash(address: str, settings: Settings) -> str:
    """A keyed hash of the client address: rate limits work, the address is not stored."""
    return hmac.new(settings.secret_key.encode(), b"webform-client:" + (address or "").encode(),
                    hashlib.sha256).hexdigest()
