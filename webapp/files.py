"""File transfer shared by the agent UI, the portal and the API: reading uploads
from a multipart request and sending attachments back as downloads."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, request

from appliance.rules.access import Actor
from appliance.services import attachments
from appliance.services.attachments import Upload
from appliance.settings import Settings


def uploads_from_request(field: str = "attachments") -> list[Upload]:
    """The files of a multipart field; an empty file input sends one nameless part, skipped."""
    return [Upload(f.filename, f.read()) for f in request.files.getlist(field) if f and f.filename]


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the real name per RFC 5987/6266."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return (f"attachment; filename=\"{fallback or 'attachment'}\"; "
            f"filename*=UTF-8''{quote(filename, safe='')}")


# Types a browser would run as a page or script if it ever rendered them: sent as bytes.
ACTIVE_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml",
                          "application/xml", "text/javascript", "application/javascript"})


def served_type(content_type: str | None) -> str:
    ctype = (content_type or "").split(";")[0].strip().lower()
    return "application/octet-stream" if not ctype or ctype in ACTIVE_TYPES else ctype


def attachment_response(actor: Actor, attachment_id: int, settings: Settings) -> Response:
    """The attachment as a download after the permission check: never rendered inline,
    never sniffed, sandboxed if a browser opens it anyway, not cached."""
    a, data = attachments.open_attachment(actor, attachment_id, settings)
    response = Response(data, mimetype=served_type(a.content_type))
    response.headers["Content-Disposition"] = content_disposition(a.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
