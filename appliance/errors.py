"""Domain errors. Views and the API map each to one HTTP status and a stable `code`."""
from __future__ import annotations


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str = "", **details):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details = details


class ValidationError(DomainError):
    """Bad input; `fields` maps each offending field name to a message."""
    code = "validation_error"
    http_status = 400

    def __init__(self, fields: dict[str, str], message: str = "invalid input"):
        super().__init__(message, fields=fields)
        self.fields = fields


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    http_status = 403


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    http_status = 401


class Conflict(DomainError):
    """The object changed since the client read it (expected_version mismatch)."""
    code = "conflict"
    http_status = 409


class IllegalTransition(DomainError):
    code = "illegal_transition"
    http_status = 409

    def __init__(self, current: str, requested: str, allowed: list[str]):
        super().__init__(f"cannot move a ticket from {current} to {requested}",
                         current=current, requested=requested, allowed=allowed)
        self.allowed = allowed


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    http_status = 415
