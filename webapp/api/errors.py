"""Every failure under /api/v1 is JSON {"error": {"code", "message", "details"}} with a
stable code; 401s carry WWW-Authenticate: Bearer."""
from __future__ import annotations

from werkzeug.exceptions import HTTPException

from appliance.errors import DomainError
from webapp.api import api_bp
from webapp.api.payload import reply
from webapp.errors import error_body, retry_headers

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
              411: "length_required", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "too_many_requests"}
BEARER_CHALLENGE = 'Bearer realm="gongdan"'


class Unauthorized(DomainError):
    code = "unauthorized"
    http_status = 401


@api_bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return reply(error_body(exc.code, exc.message, exc.details), exc.http_status,
                 retry_headers(exc))


@api_bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    status = exc.code or 500
    code = HTTP_CODES.get(status, (exc.name or "error").lower().replace(" ", "_"))
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return reply(error_body(code, exc.description or exc.name), status, headers)


@api_bp.after_request
def api_headers(response):
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", BEARER_CHALLENGE)
    # Answers carry personal data and depend on the token: never cache them.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
