"""What a chat system or PBX may post to /api/v1/intake/*: the shape of the payload, its
limits, and how speaker labels become the four speakers the AI step knows.

Pure: `parse_chat` / `parse_call` take the decoded JSON and return a `ConversationInput`
or raise ValidationError whose keys are field paths ("messages.3.text": "required"),
every problem at once. See docs/decisions/0014-chat-call-intake.md.

Speakers. Chat: customer/visitor/user/客户/访客/用户 → customer, agent/staff/客服/坐席/人工
→ agent, bot/robot/机器人 → bot, system/系统 → system. Calls: the same words, plus the
two sides of the line: caller/主叫/A and callee/被叫/B (ASR systems label the first
channel A). On an inbound call (the default) the caller is the customer and the callee
the agent; `direction: "outbound"` swaps them. Anything else is a 400 naming the segment.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from appliance.errors import ValidationError

MAX_MESSAGES = 2000          # messages of a chat or segments of a call
MAX_TEXT = 10_000            # characters in one message
MAX_TOTAL_TEXT = 400_000     # characters in all messages together
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_ID = 200                 # the model's external_id column
MAX_SHORT = 200              # names, numbers, agent, channel label

SPEAKERS = ("customer", "agent", "bot", "system")
_COMMON = {"customer": "customer", "client": "customer", "visitor": "customer",
           "user": "customer", "客户": "customer", "访客": "customer", "用户": "customer",
           "顾客": "customer", "agent": "agent", "staff": "agent", "operator": "agent",
           "客服": "agent", "坐席": "agent", "人工": "agent", "人工客服": "agent",
           "bot": "bot", "robot": "bot", "机器人": "bot", "智能客服": "bot",
           "system": "system", "ivr": "system", "系统": "system"}
_SIDES = {"caller": "caller", "主叫": "caller", "a": "caller",
          "callee": "callee", "被叫": "callee", "b": "callee"}


@dataclass(frozen=True)
class ConversationInput:
    channel: str                      # chat | call
    external_id: str
    source: str                       # e.g. wechat, web-chat, pbx
    customer: dict                    # name, phone, email, external_id (strings)
    participants: dict
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    recording_ref: str
    messages: list = field(default_factory=list)  # [{speaker, label, text, at, ...}]
    payload_sha256: str = ""


def payload_hash(raw: dict) -> str:
    """The same content posted again hashes alike, whatever its key order or spacing."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Errors(dict):
    def check(self, path: str, fn, *args):
        try:
            return fn(*args)
        except ValueError as exc:
            self[path] = str(exc)
            return None


def _text(value, max_len: int, required: bool = False, single_line: bool = False) -> str:
    if value is None:
        if required:
            raise ValueError("required")
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if single_line and any(ch in value for ch in "\r\n"):
        raise ValueError("must be a single line")
    if len(value) > max_len:
        raise ValueError(f"at most {max_len} characters")
    if required and not value.strip():
        raise ValueError("required")
    return value.strip()


def _time(value, required: bool = False) -> dt.datetime | None:
    if value is None:
        if required:
            raise ValueError("required")
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 date-time string")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-05-01T09:30:00+08:00") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _seconds(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 86_400:
        raise ValueError("must be seconds from the start of the call (0 to 86400)")
    return float(value)


def _object(raw, errors: _Errors, path: str, fields: tuple, required: tuple = ()) -> dict:
    if not isinstance(raw, dict):
        errors[path or "body"] = "must be a JSON object"
        return {}
    prefix = f"{path}." if path else ""
    for k in sorted(set(raw) - set(fields)):
        errors[prefix + k] = "unknown field"
    for k in required:
        if raw.get(k) is None:
            errors[prefix + k] = "required"
    return raw


def _customer(raw, errors: _Errors) -> dict:
    if raw is None:
        return {}
    raw = _object(raw, errors, "customer", ("name", "phone", "email", "external_id"))
    return {k: errors.check(f"customer.{k}", _text, raw.get(k), MAX_SHORT, False, True) or ""
            for k in ("name", "phone", "email", "external_id") if isinstance(raw, dict)}


def _list(raw, errors: _Errors, path: str) -> list:
    if not isinstance(raw, list):
        if path not in errors:
            errors[path] = "must be a list"
        return []
    if not raw:
        errors[path] = "must not be empty"
    if len(raw) > MAX_MESSAGES:
        errors[path] = f"at most {MAX_MESSAGES} items"
        return []
    return raw


def _total(messages: list, errors: _Errors, path: str) -> None:
    if sum(len(m["text"]) for m in messages) > MAX_TOTAL_TEXT:
        errors[path] = f"at most {MAX_TOTAL_TEXT} characters of text in all"


def _order(errors: _Errors, path: str, start, end) -> None:
    if start is not None and end is not None and end < start:
        errors[path] = "must not be before the start"


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() + "Z" if value else ""


def chat_speaker(label: str) -> str:
    found = _COMMON.get(label.strip().lower())
    if found is None:
        raise ValueError("must be one of customer, agent, bot, system (or 客户, 坐席, 客服, 机器人)")
    return found


def call_speaker(label: str, outbound: bool) -> str:
    key = label.strip().lower()
    if key in _COMMON:
        return _COMMON[key]
    side = _SIDES.get(key)
    if side is None:
        raise ValueError("must be customer, agent, caller, callee, A, B (or 客户, 坐席, 主叫, 被叫)")
    return "customer" if (side == "caller") != outbound else "agent"


CHAT_FIELDS = ("id", "channel", "customer", "agent", "started_at", "ended_at", "messages")


def parse_chat(raw) -> ConversationInput:
    errors = _Errors()
    raw = _object(raw, errors, "", CHAT_FIELDS, ("id", "messages"))
    if not raw:
        raise ValidationError(dict(errors))
    ext_id = errors.check("id", _text, _id_value(raw.get("id")), MAX_ID, True, True)
    source = errors.check("channel", _text, raw.get("channel"), 40, False, True) or "chat"
    agent = errors.check("agent", _text, raw.get("agent"), MAX_SHORT, False, True) or ""
    started = errors.check("started_at", _time, raw.get("started_at"))
    ended = errors.check("ended_at", _time, raw.get("ended_at"))
    _order(errors, "ended_at", started, ended)
    customer = _customer(raw.get("customer"), errors)
    messages = []
    for i, m in enumerate(_list(raw.get("messages"), errors, "messages")):
        p = f"messages.{i}"
        m = _object(m, errors, p, ("speaker", "text", "at"), ("speaker", "text"))
        if not m:
            continue
        label = errors.check(f"{p}.speaker", _text, m.get("speaker"), 40, True, True) or ""
        speaker = errors.check(f"{p}.speaker", chat_speaker, label) if label else None
        text = errors.check(f"{p}.text", _text, m.get("text"), MAX_TEXT, True)
        at = errors.check(f"{p}.at", _time, m.get("at"))
        if speaker and text is not None:
            messages.append({"speaker": speaker, "label": label, "text": text, "at": _iso(at)})
    _total(messages, errors, "messages")
    if errors:
        raise ValidationError(dict(errors))
    return ConversationInput("chat", ext_id, source, customer, {"agent": agent}, started, ended,
                             "", messages, payload_hash(raw))


CALL_FIELDS = ("call_id", "caller", "callee", "agent", "direction", "start", "end",
               "recording_ref", "customer", "transcript")


def parse_call(raw) -> ConversationInput:
    errors = _Errors()
    raw = _object(raw, errors, "", CALL_FIELDS, ("call_id", "caller", "callee", "start", "end",
                                                  "transcript"))
    if not raw:
        raise ValidationError(dict(errors))
    ext_id = errors.check("call_id", _text, _id_value(raw.get("call_id")), MAX_ID, True, True)
    caller = errors.check("caller", _text, _id_value(raw.get("caller")), 40, True, True) or ""
    callee = errors.check("callee", _text, _id_value(raw.get("callee")), 40, True, True) or ""
    agent = errors.check("agent", _text, raw.get("agent"), MAX_SHORT, False, True) or ""
    direction = raw.get("direction", "inbound")
    if direction not in ("inbound", "outbound"):
        errors["direction"] = "must be inbound or outbound"
    outbound = direction == "outbound"
    start = errors.check("start", _time, raw.get("start"), True)
    end = errors.check("end", _time, raw.get("end"), True)
    _order(errors, "end", start, end)
    recording = errors.check("recording_ref", _text, raw.get("recording_ref"), 500, False,
                             True) or ""
    customer = _customer(raw.get("customer"), errors)
    customer.setdefault("phone", "")
    customer["phone"] = customer["phone"] or (callee if outbound else caller)
    messages = _segments(raw.get("transcript"), errors, outbound, start)
    if errors:
        raise ValidationError(dict(errors))
    participants = {"caller": caller, "callee": callee, "agent": agent, "direction": direction}
    return ConversationInput("call", ext_id, "phone", customer, participants, start, end,
                             recording, messages, payload_hash(raw))


def _segments(raw, errors: _Errors, outbound: bool, call_start) -> list:
    messages = []
    for i, s in enumerate(_list(raw, errors, "transcript")):
        p = f"transcript.{i}"
        s = _object(s, errors, p, ("speaker", "text", "start", "end"), ("speaker", "text"))
        if not s:
            continue
        label = errors.check(f"{p}.speaker", _text, _id_value(s.get("speaker")), 40, True,
                             True) or ""
        speaker = errors.check(f"{p}.speaker", call_speaker, label, outbound) if label else None
        text = errors.check(f"{p}.text", _text, s.get("text"), MAX_TEXT, True)
        t0 = errors.check(f"{p}.start", _seconds, s.get("start"))
        t1 = errors.check(f"{p}.end", _seconds, s.get("end"))
        _order(errors, f"{p}.end", t0, t1)
        if speaker and text is not None:
            at = call_start + dt.timedelta(seconds=t0) if call_start and t0 is not None else None
            messages.append({"speaker": speaker, "label": label, "text": text, "at": _iso(at),
                             "start": t0, "end": t1})
    _total(messages, errors, "transcript")
    return messages


def _id_value(value):
    """Ids, extensions and ASR speaker labels may come as numbers (call 12345, 8001)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
