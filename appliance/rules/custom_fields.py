"""Validation of custom field values against their admin-made definitions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS = ("text", "number", "date", "select", "multiselect")


@dataclass(frozen=True)
class FieldDef:
    key: str
    label: str
    kind: str
    options: tuple[str, ...] = ()
    required: bool = False


def _empty(value) -> bool:
    return value is None or value == "" or value == []


def clean_value(d: FieldDef, value):
    """Return the normalised value or raise ValueError with a human reason."""
    if d.kind == "text":
        text = str(value).strip()
        if len(text) > 2000:
            raise ValueError("at most 2000 characters")
        return text
    if d.kind == "number":
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if num != num or num in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return int(num) if num.is_integer() else num
    if d.kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("must be a date YYYY-MM-DD") from None
    if d.kind == "select":
        if str(value) not in d.options:
            raise ValueError("must be one of: " + ", ".join(d.options))
        return str(value)
    if d.kind == "multiselect":
        values = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
        bad = [v for v in values if str(v) not in d.options]
        if bad:
            raise ValueError("must be chosen from: " + ", ".join(d.options))
        return sorted({str(v) for v in values})
    raise ValueError(f"unknown field kind {d.kind}")


def validate_custom_fields(defs: list[FieldDef], values: dict, *, partial: bool = False
                           ) -> tuple[dict, dict[str, str]]:
    """Clean `values`; return (cleaned, errors keyed by 'custom_fields.<key>').

    With `partial`, only the keys present are checked (an update); otherwise
    required fields must be present (a create).
    """
    by_key = {d.key: d for d in defs}
    cleaned: dict = {}
    errors: dict[str, str] = {}
    for key, value in values.items():
        if key not in by_key:
            errors[f"custom_fields.{key}"] = "unknown field"
            continue
        d = by_key[key]
        if _empty(value):
            if d.required:
                errors[f"custom_fields.{key}"] = "required"
            continue
        try:
            cleaned[key] = clean_value(d, value)
        except ValueError as exc:
            errors[f"custom_fields.{key}"] = str(exc)
    if not partial:
        for d in defs:
            if d.required and d.key not in values and f"custom_fields.{d.key}" not in errors:
                errors[f"custom_fields.{d.key}"] = "required"
    return cleaned, errors
