"""IMAP IDLE: new mail is fetched within seconds instead of at the next minute.

Owns one watcher thread per fetched mailbox in the worker process. A watcher logs in,
and if the server offers IDLE (RFC 2177) waits for it to report a changed message count,
then schedules the ordinary `fetch_mailbox` job (unless one is pending), so fetching,
exactly-once and error handling stay in services.mail_fetch. It re-issues IDLE every
IDLE_SECONDS (servers drop idle connections after 30 minutes) and reconnects after
errors with a back-off. The periodic fetch every minute stays: it covers a server without
IDLE, a dropped watcher and a notification missed.

`keep_watching(settings)` runs with the periodic fetch task: it starts watchers for
mailboxes that are enabled, stops those that no longer are, and restarts one whose
server settings changed. Watchers are daemon threads: they never keep a stopping worker
alive. Logs carry mailbox ids only.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

from appliance import jobs
from appliance.db import database
from appliance.jobs import schedule, unit_of_work
from appliance.mail.imap import ImapSession, MailFetchError
from appliance.models import Job, Mailbox
from appliance.services.mail_fetch import imap_config
from appliance.settings import Settings

log = logging.getLogger(__name__)

IDLE_SECONDS = 20 * 60
MAX_BACKOFF_S = 300


@dataclass
class _Watcher:
    thread: threading.Thread
    stop: threading.Event
    signature: str
    supported: bool = True     # False once the server said it has no IDLE


_watchers: dict[int, _Watcher] = {}
_lock = threading.Lock()


def keep_watching(settings: Settings, *, idle_seconds: float = IDLE_SECONDS) -> list[int]:
    """Bring the watchers in line with the enabled mailboxes; returns the ids watched.
    Runs in the caller's database connection (the periodic task's)."""
    wanted = {m.id: _signature(m) for m in Mailbox.select().where(
        Mailbox.fetch_enabled & Mailbox.active & (Mailbox.imap_host != ""))}
    with _lock:
        for mailbox_id in list(_watchers):
            if _watchers[mailbox_id].signature != wanted.get(mailbox_id):
                _watchers.pop(mailbox_id).stop.set()
        for mailbox_id, signature in wanted.items():
            if mailbox_id not in _watchers:
                stop = threading.Event()
                thread = threading.Thread(target=_watch, name=f"imap-idle-{mailbox_id}",
                                          args=(mailbox_id, settings, stop, idle_seconds),
                                          daemon=True)
                _watchers[mailbox_id] = _Watcher(thread, stop, signature)
                thread.start()
        return sorted(m for m, w in _watchers.items() if w.supported)


def stop_all(timeout: float = 5.0) -> None:
    with _lock:
        watchers = list(_watchers.values())
        _watchers.clear()
    for w in watchers:
        w.stop.set()
    for w in watchers:
        w.thread.join(timeout)


def _signature(m: Mailbox) -> str:
    """Changes when anything the connection depends on changes (the password included)."""
    text = "\0".join(map(str, (m.imap_host, m.imap_port, m.imap_security, m.imap_username,
                               m.imap_password, m.imap_folder)))
    return hashlib.sha256(text.encode()).hexdigest()


def _watch(mailbox_id: int, settings: Settings, stop: threading.Event,
           idle_seconds: float) -> None:
    failures = 0
    while not stop.is_set():
        try:
            with database.connection_context():
                cfg = imap_config(Mailbox.get_by_id(mailbox_id), settings, None)
            with ImapSession(cfg) as session:
                if not session.can_idle():
                    _unsupported(mailbox_id)
                    return
                failures = 0
                while not stop.is_set():
                    if session.idle(idle_seconds, stop):
                        with database.connection_context():
                            schedule_fetch(mailbox_id)
        except Mailbox.DoesNotExist:
            return
        except (MailFetchError, OSError) as exc:
            failures += 1
            log.info("imap idle for mailbox %s: %s; retrying", mailbox_id, exc)
        except Exception:  # a bug or the database: never a busy loop, never a dead worker
            failures += 1
            log.exception("imap idle for mailbox %s failed", mailbox_id)
        stop.wait(min(MAX_BACKOFF_S, 5 * 2 ** min(failures, 6)))


def _unsupported(mailbox_id: int) -> None:
    log.info("mailbox %s: the server has no IDLE; fetched every minute", mailbox_id)
    with _lock:
        if mailbox_id in _watchers:
            _watchers[mailbox_id].supported = False


def schedule_fetch(mailbox_id: int) -> bool:
    """A fetch job now, unless one is already waiting; True when one was scheduled."""
    pending = Job.select().where((Job.name == "fetch_mailbox") & (Job.object_id == mailbox_id)
                                 & Job.done_at.is_null()
                                 & (Job.attempts < jobs.MAX_ATTEMPTS)).exists()
    if pending:
        return False
    with unit_of_work():
        schedule("fetch_mailbox", mailbox_id)
    return True
