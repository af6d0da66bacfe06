"""gunicorn hooks `gongdan serve` loads (`--config python:webapp.gunicorn_conf`).

A live-update stream holds its thread for minutes; without this, a worker that is told to
stop (restart, HUP, deploy) would wait graceful_timeout for its streams. With it, the
worker's hub ends every stream at once (each page reconnects to a running worker).
"""


def post_worker_init(worker):
    from appliance.live import hub
    hub.set_alive_check(lambda: worker.alive)
