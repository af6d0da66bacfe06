"""The worker's periodic tasks: the sweeper, the schedule checks that run every minute or
half hour, and the nightly maintenance (finished jobs, the web forms' submission log,
the knowledge search log, index segments, the agents' efficiency window). `register`
puts them on the Huey instance appliance.tasks builds; each opens and closes its own
database connection.
"""
from __future__ import annotations

import logging
import threading

from huey import crontab

from appliance import jobs
from appliance.db import database

log = logging.getLogger(__name__)


def _sweep(sweeper_seconds: int) -> int:
    with database.connection_context():
        n = jobs.sweep(sweeper_seconds)
    if n:
        log.info("sweeper re-enqueued %d unfinished jobs", n)
    return n


def _retrain_if_due() -> None:
    """Checked every half hour, acted on every ai_retrain_hours (from the last run)."""
    from appliance import runtime
    from appliance.services import ai_training
    with database.connection_context():
        if ai_training.training_due(runtime.settings()):
            ai_training.schedule_training(force=False)


def _warm() -> None:
    """Load the triage classifiers (and the word segmenter), and the embedding context
    when a classifier reads vectors, before the first ticket."""
    from appliance import runtime
    from appliance.services import ai_training, ticket_vectors
    try:
        with database.connection_context():
            loaded = ai_training.active_classifiers().values()
            for c in loaded:
                c.classifier.predict("warm up 预热")
        emb, space = ticket_vectors.embedder(runtime.settings())
        if emb is not None and any(c.classifier.vector_space == space for c in loaded):
            emb.embed(["warm up 预热"])
    except Exception:  # the first triage will load them (and report) instead
        log.warning("could not warm the triage classifiers", exc_info=True)


def _dispatch_tick() -> None:
    """Idle agents, breaks, escalation and the queue safety net (services.presence.tick)."""
    from appliance.services import presence
    with database.connection_context():
        presence.tick()


def _send_due_mail() -> None:
    """Mail whose back-off ended, or that waited for a relay to be configured."""
    from appliance import runtime
    from appliance.services import mail_outbound
    with database.connection_context():
        mail_outbound.schedule_due(runtime.settings())


def _fetch_mail() -> None:
    """A fetch job for each mailbox fetched over IMAP (services.mail_fetch), and an IMAP
    IDLE watcher for each that fetches within seconds (services.mail_idle)."""
    from appliance import runtime
    from appliance.services import mail_fetch, mail_idle
    with database.connection_context():
        mail_fetch.schedule_due()
        mail_idle.keep_watching(runtime.settings())


def _optimize_index() -> None:
    """Rewrite the segments of the ticket and the article index that hold deleted documents."""
    from appliance import registry, runtime
    settings = runtime.settings()
    for index in (registry.search_index(settings), registry.knowledge_index(settings)):
        optimize = getattr(index, "optimize", None)
        if optimize is not None:
            optimize()


def nightly() -> None:
    """Once a day (gongdan.nightly); every step is safe to run twice."""
    from appliance.services import agent_stats, knowledge_search, webform_log
    with database.connection_context():
        jobs.prune()
        # Rows no web form limit counts and no valid form token can match any more.
        webform_log.prune()
        # Logged knowledge searches after 90 days: masked, but still what people typed.
        knowledge_search.prune_search_log()
        # Live events older than pages reconnect for, and presence nobody renewed.
        from appliance import runtime
        from appliance.services import live, live_presence
        live.prune(runtime.settings().live_keep_hours)
        live_presence.prune()
    # Merge index segments so that text of deleted or edited tickets and articles leaves the disk.
    _optimize_index()
    # Roll the agents' efficiency window (last: a failure here must not skip the above).
    with database.connection_context():
        agent_stats.recompute_all()


def nps_daily() -> None:
    """The periodic NPS question to recently served customers (services.nps), once a day
    (02:23 UTC, 10:23 in China; the mails wait in the outbox like any other)."""
    from appliance import runtime
    from appliance.services import nps
    with database.connection_context():
        nps.send_due(runtime.settings())


def audit_hourly() -> None:
    """A signed checkpoint of the audit chain's end, if it moved (docs/decisions/0026)."""
    from appliance.services import audit
    with database.connection_context():
        audit.checkpoint("periodic", only_if_new=True)


def audit_nightly() -> None:
    """Audit records past audit_retention_days go, behind a signed anchor checkpoint."""
    from appliance.services import audit
    with database.connection_context():
        n = audit.prune()
    if n:
        log.info("pruned %d audit records past retention", n)


def audit_verify_nightly() -> None:
    """The whole chain verified every night, its result at the head of the audit pages."""
    from appliance.services import audit_verification
    with database.connection_context():
        audit_verification.request_nightly()


def directory_sync() -> None:
    """Sync directory (LDAP) accounts when ldap_sync_minutes have passed (decision 0028)."""
    from appliance import runtime
    from appliance.services import directory
    with database.connection_context():
        changes = directory.sync_if_due(runtime.settings())
    if changes:
        log.info("directory sync: %d changes", len(changes))


def sla_run() -> None:
    """Every open ticket's SLA clocks, warnings and escalations (services.sla_timers)."""
    from appliance import runtime
    from appliance.services import sla_timers
    settings = runtime.settings()
    # A run that outlasts its minute is not stacked on by the next one in this worker
    # (runs on two workers only repeat idempotent work).
    if not _sla_running.acquire(blocking=False):
        log.warning("SLA run still busy after a minute; skipping this one")
        return
    try:
        with database.connection_context():
            sla_timers.tick(settings.sla_pause_statuses, settings.sla_batch_size)
    finally:
        _sla_running.release()


_sla_running = threading.Lock()


def register(huey, sweeper_seconds: int) -> None:
    first = threading.Lock()  # held forever by the first worker thread that starts

    @huey.periodic_task(crontab(minute="*/30"), name="gongdan.retrain")
    def retrain() -> None:
        _retrain_if_due()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.sweep_jobs")
    def sweep_jobs() -> int:
        return _sweep(sweeper_seconds)

    @huey.periodic_task(crontab(minute="*"), name="gongdan.dispatch_tick")
    def dispatch_tick() -> None:
        _dispatch_tick()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.send_due_mail")
    def send_due_mail() -> None:
        _send_due_mail()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.fetch_mail")
    def fetch_mail() -> None:
        _fetch_mail()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.callbacks_due")
    def callbacks_due() -> None:
        from appliance.services import callbacks
        with database.connection_context():
            callbacks.remind_due()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.follow_ups_due")
    def follow_ups_due() -> None:
        from appliance.services import follow_up_due   # notify callers (decision 0038)
        with database.connection_context():
            follow_up_due.remind_due()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.process_tick")
    def process_tick() -> None:
        from appliance.services import process_timers
        with database.connection_context():
            process_timers.tick()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.sla_tick")
    def sla_tick() -> None:
        sla_run()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.report_schedules")
    def report_schedules() -> None:
        # Due scheduled e-mail reports into the outbox, once per period (decision 0041).
        from appliance.services import reports_schedule
        with database.connection_context():
            reports_schedule.run_due()

    @huey.periodic_task(crontab(minute="*/5"), name="gongdan.reports_refresh")
    def reports_refresh_task() -> None:
        # The dashboard's aggregates (decision 0040); safe to overlap (a locked state row).
        from appliance.services import reports_refresh
        with database.connection_context():
            reports_refresh.refresh()

    @huey.periodic_task(crontab(hour="2", minute="23"), name="gongdan.nps_send")
    def nps_send() -> None:
        nps_daily()

    @huey.periodic_task(crontab(minute="7"), name="gongdan.audit_checkpoint")
    def audit_checkpoint() -> None:
        audit_hourly()

    @huey.periodic_task(crontab(hour="3", minute="41"), name="gongdan.audit_prune")
    def audit_prune() -> None:
        audit_nightly()

    @huey.periodic_task(crontab(hour="4", minute="11"), name="gongdan.audit_verify")
    def audit_verify() -> None:
        audit_verify_nightly()

    @huey.periodic_task(crontab(minute="*"), name="gongdan.directory_sync")
    def directory_sync_task() -> None:
        directory_sync()

    @huey.periodic_task(crontab(hour="3", minute="17"), name="gongdan.nightly")
    def nightly_task() -> None:
        nightly()

    @huey.on_startup(name="gongdan.sweep_at_start")
    def sweep_at_start() -> None:
        # Runs in every worker thread; one sweep (and warm-up) per process is enough.
        if first.acquire(blocking=False):
            _sweep(sweeper_seconds)
            _warm()
