"""Start-up of a process: load settings, bind the database, wire the queue."""
from __future__ import annotations

import logging

from appliance import runtime
from appliance.db import bind_database
from appliance.settings import Settings, load_settings


def boot(settings: Settings | None = None, *, queue: bool = True) -> Settings:
    """Everything a web, worker or CLI process needs before its first request; no migrations."""
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bind_database(settings.database_url)
    runtime.configure(settings)
    if queue:
        from appliance.tasks import install_enqueuer
        install_enqueuer(settings)
    return settings
