"""Builders every OpenAPI module shares: an operation with its error responses, a JSON
response and a JSON request body.

They live here rather than in openapi.py because openapi.py imports the per-area
modules (presence, supervisor, callbacks, intake, …) before it could define them; the
error responses named here are defined once, in openapi.py's components.
"""
from __future__ import annotations

from webapp.api.openapi_schemas import ref

ERROR_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               409: "Conflict", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"}
WRITE = (400, 413, 415)


def operation(op_id: str, tag: str, summary: str, ok: dict, errors=(), params=(), body=None,
              *, always=(401,), description: str = "", security: list | None = None,
              list_params: bool = False) -> dict:
    """One operation; `always` are the error codes every call can answer (401 unless the
    operation is public), `list_params` writes an empty parameter list too."""
    responses = dict(ok)
    for code in sorted(set(errors) | set(always)):
        responses[str(code)] = {"$ref": f"#/components/responses/{ERROR_NAMES[code]}"}
    out = {"operationId": op_id, "tags": [tag], "summary": summary, "responses": responses}
    if description:
        out["description"] = description
    if params or list_params:
        out["parameters"] = list(params)
    if body:
        out["requestBody"] = body
    if security is not None:
        out["security"] = security
    return out


def json_response(status: int, schema: str, description: str,
                  headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": ref(schema)}}}
    return {str(status): {**out, **({"headers": headers} if headers else {})}}


def json_body(schema: str, example: dict | None = None, media: str = "application/json") -> dict:
    content = {"schema": ref(schema), **({"example": example} if example else {})}
    return {"required": True, "content": {media: content}}
