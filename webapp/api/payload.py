"""What the API accepts and how it answers: strict JSON bodies with declared fields only,
typed query parameters, and JSON responses built from DTOs.

Every payload lists the fields it accepts (no mass assignment); anything else is a 400
naming the offending fields. Checks here are about shape and type; the services decide
what the values mean.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Callable

from flask import Response, request

from appliance import dto
from appliance.errors import DomainError, UnsupportedMediaType, ValidationError

MAX_ID = 2_147_483_647  # ids are 32-bit on PostgreSQL
ID_RULE = "int"         # the URL converter for ids (larger than MAX_ID: 404, see auth)
Check = Callable[[object], object]


class InvalidJson(DomainError):
    """The body is not UTF-8 JSON, or holds text PostgreSQL cannot store (U+0000)."""
    code = "invalid_json"
    http_status = 400


# -- field checks: each returns the cleaned value or raises ValueError(reason) -----------

def text(max_len: int = 100_000) -> Check:
    def check(value):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if len(value) > max_len:
            raise ValueError(f"at most {max_len} characters")
        return value
    return check


def integer(lo: int = 1, hi: int = MAX_ID) -> Check:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value
    return check


identifier = integer(1, MAX_ID)


def boolean(value):
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def choice(*options: str) -> Check:
    def check(value):
        if value not in options:
            raise ValueError("must be one of " + ", ".join(options))
        return value
    return check


def nullable(inner: Check) -> Check:
    return lambda value: None if value is None else inner(value)


def text_list(max_items: int = 20, max_len: int = 64) -> Check:
    def check(value):
        if not isinstance(value, list) or len(value) > max_items:
            raise ValueError(f"must be a list of at most {max_items} strings")
        return [text(max_len)(v) for v in value]
    return check


def json_object(value):
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    return value


def timestamp(value):
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return parse_datetime(value)


def parse_datetime(value: str) -> dt.datetime:
    """ISO 8601 date or date-time; aware values become naive UTC (how the database stores)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 date or date-time") from None
    return parsed


def list_of(inner: Check, max_items: int) -> Check:
    def check(value):
        if not isinstance(value, list) or len(value) > max_items:
            raise ValueError(f"must be a list of at most {max_items} items")
        return [inner(v) for v in value]
    return check


def record(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """A nested object with declared fields (e.g. one contact of a customer)."""
    def check(value):
        if not isinstance(value, dict):
            raise ValueError("must be an object")
        unknown = sorted(set(value) - set(fields))
        missing = [k for k in required if k not in value]
        if unknown or missing:
            raise ValueError("; ".join([f"unknown field {k}" for k in unknown]
                                       + [f"{k} is required" for k in missing]))
        return {k: fields[k](v) for k, v in value.items()}
    return check


# -- bodies ---------------------------------------------------------------------------------

def _is_json_type(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def read_json():
    """The parsed body: 415 unless JSON, 400 invalid_json unless strict UTF-8 JSON."""
    if not _is_json_type(request.mimetype):
        raise UnsupportedMediaType("send the body as application/json", expected="application/json")
    if request.mimetype_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("the body must be UTF-8", expected="application/json")
    raw = request.get_data(cache=True)  # 413 beyond MAX_CONTENT_LENGTH
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("the body is not valid UTF-8", position=exc.start) from None
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJson("the body is not valid JSON", line=exc.lineno, column=exc.colno) from None
    except (ValueError, RecursionError):
        raise InvalidJson("the body is not valid JSON") from None
    _check_strings(value)
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_strings(value) -> None:
    """Refuse lone surrogates and U+0000 anywhere (neither can be stored as UTF-8 text)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise InvalidJson("strings must not contain U+0000")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJson("strings must be valid Unicode (no lone surrogates)") from None


def json_body(fields: dict[str, Check], required: tuple[str, ...] = ()) -> dict:
    """The body's declared fields, checked; unknown or bad fields are one 400 naming them all."""
    raw = read_json()
    if not isinstance(raw, dict):
        raise ValidationError({"body": "must be a JSON object"})
    errors = {k: "unknown field" for k in sorted(set(raw) - set(fields))}
    errors.update({k: "required" for k in required if k not in raw})
    out = {}
    for name, value in raw.items():
        if name in fields:
            try:
                out[name] = fields[name](value)
            except ValueError as exc:
                errors[name] = str(exc)
    if errors:
        raise ValidationError(errors)
    return out


def into(cls, values: dict):
    """Build a service dataclass from checked values (only its own fields)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


# -- query strings --------------------------------------------------------------------------

def _query_value(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and any(ord(ch) < 32 for ch in value):
        raise ValidationError({name: "must not contain control characters"})
    return value


def query_text(name: str, default: str | None = None, max_len: int = 200) -> str | None:
    value = _query_value(name)
    if value is None:
        return default
    if len(value) > max_len:
        raise ValidationError({name: f"at most {max_len} characters"})
    return value


def query_int(name: str, default: int | None = None, lo: int = 1, hi: int = MAX_ID) -> int | None:
    value = _query_value(name)
    if value in (None, ""):
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ValidationError({name: "must be an integer"}) from None
    if not lo <= number <= hi:
        raise ValidationError({name: f"must be between {lo} and {hi}"})
    return number


def query_choice(name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
    value = _query_value(name)
    if value in (None, ""):
        return default
    if value not in options:
        raise ValidationError({name: "must be one of " + ", ".join(options)})
    return value


def query_list(name: str, options: tuple[str, ...]) -> list[str]:
    """A repeatable parameter that also takes a comma-separated list (status=new,open)."""
    values = []
    for raw in request.args.getlist(name):
        if any(ord(ch) < 32 for ch in raw):
            raise ValidationError({name: "must not contain control characters"})
        values += [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in options]
    if bad:
        raise ValidationError({name: "must be among " + ", ".join(options)})
    return list(dict.fromkeys(values))


def query_datetime(name: str) -> dt.datetime | None:
    value = _query_value(name)
    if value in (None, ""):
        return None
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise ValidationError({name: str(exc)}) from None


def if_match(entity: str) -> int | None:
    """The version named by an If-Match header ("3", W/"3" or 3); None when absent or *."""
    header = request.headers.get("If-Match", "").strip()
    if header in ("", "*"):
        return None
    tag = header.removeprefix("W/").strip('"')
    if not (tag.isascii() and tag.isdigit()) or not 1 <= int(tag) <= MAX_ID:
        raise ValidationError({"If-Match": f'must be the ETag of the {entity}, e.g. "3"'})
    return int(tag)


# -- responses ------------------------------------------------------------------------------

def to_json(value):
    """DTOs via appliance.dto.as_dict; datetimes as ISO 8601 UTC with Z."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dto.as_dict(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat() + "Z"
    return value


def dumps(value) -> str:
    # <, > and & only ever occur inside JSON strings; escaping them keeps a body that is
    # sniffed or pasted into HTML inert (defence in depth next to nosniff).
    text_ = json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":"))
    return text_.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def reply(value, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(value), status=status, headers=headers, mimetype="application/json")


def items(values: list) -> Response:
    return reply({"items": values})


def no_content() -> Response:
    return Response(status=204)
