"""The settings a process runs with, for code the queue calls (job handlers).

Web, worker and CLI call `configure()` once at start-up; services that a view
calls get settings passed explicitly instead.
"""
from __future__ import annotations

from appliance.settings import Settings

_settings: Settings | None = None


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def settings() -> Settings:
    if _settings is None:
        raise RuntimeError("appliance.runtime.configure() was not called")
    return _settings
