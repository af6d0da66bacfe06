"""Start-up of a process: load settings, bind the database, wire the queue."""
from __future__ import annotations

import logging

from appliance import logsafe, runtime
from appliance.db import bind_database
from appliance.settings import Settings, load_settings


def boot(settings: Settings | None = None, *, queue: bool = True) -> Settings:
    """Everything a web, worker or CLI process needs before its first request; no migrations."""
    settings = settings or load_settings()
    logsafe.install()  # before the first record: no secret, PII or forged line reaches a log
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bind_database(settings.database_url)
    # Refuses to go on with a missing, exposed or wrong master key (KeyProblem says what
    # to do): no request may read or write data it cannot protect.
    from appliance.services import keys
    keys.activate(settings)
    runtime.configure(settings)
    if queue:
        from appliance.tasks import install_enqueuer
        install_enqueuer(settings)
    return settings
