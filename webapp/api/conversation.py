"""Replies, internal notes and attachments of a ticket; attachment downloads."""
from __future__ import annotations


from flask import current_app, g, request

from appliance.errors import UnsupportedMediaType, ValidationError
from appliance.services import comments
from appliance.services.attachments import Upload
from webapp.api import api_bp
from webapp.files import attachment_response
from webapp.api.payload import ID_RULE, boolean, json_body, reply, text

FORM_FIELDS = ("body", "internal")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def settings():
    return current_app.config["GONGDAN"]


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/comments")
def add_comment(ticket_id: int):
    values = json_body({"body": text(100_000), "internal": boolean}, required=("body",))
    comment = comments.add_comment(g.actor, ticket_id, values["body"], settings(),
                                   internal=values.get("internal", False), channel="api")
    return reply(comment, 201)


def _form_flag(name: str) -> bool:
    value = request.form.get(name, "").strip().lower()
    if value not in TRUE + FALSE:
        raise ValidationError({name: "must be true or false"})
    return value in TRUE


def _uploads() -> tuple[list[Upload], str, bool]:
    """Files (field `file`, repeatable) plus the optional `body` and `internal` fields."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send attachments as multipart/form-data",
                                   expected="multipart/form-data")
    unknown = sorted((set(request.form) - set(FORM_FIELDS)) | (set(request.files) - {"file"}))
    if unknown:
        raise ValidationError({k: "unknown field" for k in unknown})
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        raise ValidationError({"file": "required"})
    uploads = [Upload(f.filename or "", f.read()) for f in files]
    return uploads, request.form.get("body", ""), _form_flag("internal")


@api_bp.post(f"/tickets/<{ID_RULE}:ticket_id>/attachments")
def add_attachments(ticket_id: int):
    uploads, body, internal = _uploads()
    comment = comments.add_comment(g.actor, ticket_id, body, settings(), internal=internal,
                                   uploads=uploads, channel="api")
    return reply(comment, 201)


@api_bp.get(f"/attachments/<{ID_RULE}:attachment_id>")
def download_attachment(attachment_id: int):
    return attachment_response(g.actor, attachment_id, settings())
