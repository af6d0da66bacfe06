"""Sliding-window limits on authentication attempts, counted in the database.

Unlike rate_window.SlidingWindow (per process), these counts must hold across gunicorn
workers and nodes: a guesser spread over workers still meets one limit. Each attempt is
one rate_event row under a hashed key ("login", "mfa", "password", "token" × client
address or account); the window is the last `auth_rate_window_minutes`. Two workers
checking at the same instant may both pass the last free slot: the limit can be exceeded
by the number of concurrent requests, never more (decision 0027).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math

from appliance.errors import DomainError
from appliance.jobs import unit_of_work
from appliance.models import RateEvent, utcnow
from appliance.settings import Settings

KINDS = ("login", "mfa", "password", "token", "survey")  # survey: public survey links


class RateLimited(DomainError):
    """Too many attempts; `retry_after` is the number of seconds until one is allowed."""
    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int):
        super().__init__("too many attempts; try again later", retry_after=retry_after)
        self.retry_after = retry_after


def _key(kind: str, scope: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{scope}\0{value}".encode("utf-8")).hexdigest()


def hit(kind: str, settings: Settings, *, ip: str = "", account: str = "") -> None:
    """Count one attempt of `kind` from `ip` for `account`; raise RateLimited (nothing
    counted) if either is already at its limit within the window."""
    if kind not in KINDS:
        raise ValueError(f"unknown rate limit kind {kind!r}")
    window = dt.timedelta(minutes=settings.auth_rate_window_minutes)
    now = utcnow()
    limits = [(_key(kind, "ip", ip), settings.auth_rate_per_ip)] if ip else []
    if account:
        limits.append((_key(kind, "account", account.strip().lower()),
                       settings.auth_rate_per_account))
    with unit_of_work():
        RateEvent.delete().where(RateEvent.created_at <= now - window).execute()
        for key, limit in limits:
            recent = (RateEvent.select(RateEvent.created_at)
                      .where((RateEvent.key == key) & (RateEvent.created_at > now - window))
                      .order_by(RateEvent.created_at.desc()).limit(limit))
            times = [r.created_at for r in recent]
            if len(times) >= limit:
                wait = (times[-1] + window - now).total_seconds()
                raise RateLimited(max(1, math.ceil(wait)))
        if limits:
            RateEvent.insert_many([{"key": k, "created_at": now} for k, _ in limits]).execute()
