"""Domain errors → HTTP: JSON for the API, a page (or the form again) for the UI."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from appliance.errors import DomainError
from webapp.messages import N_, translate

# Werkzeug's names of the HTTP errors a page can show (`_(exc.name)` below), marked for extraction.
HTTP_ERROR_NAMES = (
    N_("Bad Request"), N_("Unauthorized"), N_("Forbidden"), N_("Not Found"),
    N_("Method Not Allowed"), N_("Conflict"), N_("Request Entity Too Large"),
    N_("Unsupported Media Type"), N_("Unprocessable Entity"), N_("Too Many Requests"),
    N_("Internal Server Error"), N_("Service Unavailable"),
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def retry_headers(exc: DomainError) -> dict:
    """Retry-After for a 429 whose error says how long to wait (details["retry_after"])."""
    wait = exc.details.get("retry_after")
    return {"Retry-After": str(max(1, int(wait)))} if wait is not None else {}


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        if wants_json():
            return (jsonify(error_body(exc.code, exc.message, exc.details)), exc.http_status,
                    retry_headers(exc))
        return render_template("error.html", status=exc.http_status, message=translate(exc.message),
                               details=exc.details), exc.http_status, retry_headers(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        if exc.code == 400 and "CSRF" in (exc.description or ""):
            code = "csrf_failed"
        if wants_json():
            # Keep the exception's own headers (Allow on a 405), but answer in JSON.
            headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
            return jsonify(error_body(code, exc.description or exc.name)), exc.code, headers
        return render_template("error.html", status=exc.code, message=_(exc.name),
                               details={}), exc.code
