"""Whether the local language model can be used, as the web UI and /healthz report it.

Web processes never load the model (docs/decisions/0010-ai-triage.md): they ask the
registry for a cheap status (no hashing). Pages cache the answer for a short while per
process so that every agent page does not stat the model file; /healthz asks afresh.
A change of availability is logged once, not on every request.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from appliance import registry
from appliance.settings import Settings

log = logging.getLogger(__name__)
CACHE_SECONDS = 30.0
DISABLED = "AI is turned off (ai_enabled = false)"


@dataclass(frozen=True)
class AiStatus:
    available: bool
    model: str
    sha256: str
    reason: str  # why it is unavailable; empty when available

    def as_health(self) -> dict:
        return {"available": self.available, "model": self.model, "reason": self.reason}


_lock = threading.Lock()
_cache: dict[tuple, tuple[float, AiStatus]] = {}
_last_available: dict[tuple, bool] = {}


def _key(settings: Settings) -> tuple:
    return (settings.ai_enabled, settings.model_dir, settings.model_name)


def _ask(settings: Settings) -> AiStatus:
    if not settings.ai_enabled:
        return AiStatus(False, settings.model_name, "", DISABLED)
    try:
        info = registry.model_status(settings)
    except Exception as exc:  # a broken registry must not break a page or the health check
        log.exception("model status failed")
        return AiStatus(False, settings.model_name, "", f"model status failed: {exc}")
    return AiStatus(bool(info.available), info.name, info.sha256,
                    "" if info.available else info.reason)


def _note_change(key: tuple, status: AiStatus) -> None:
    """Log when availability changes (and at the first check), not on every request."""
    if _last_available.get(key) != status.available:
        _last_available[key] = status.available
        if status.available:
            log.info("AI available: model %s", status.model)
        else:
            log.warning("AI unavailable: %s", status.reason)


def current(settings: Settings, *, fresh: bool = False) -> AiStatus:
    """The model's status; at most CACHE_SECONDS old unless `fresh`."""
    key, now = _key(settings), time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached and not fresh and cached[0] > now:
            return cached[1]
    status = _ask(settings)
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, status)
        _note_change(key, status)
    return status


def forget() -> None:
    """Drop the cached answers (tests, and after an administrator changed the model)."""
    with _lock:
        _cache.clear()
