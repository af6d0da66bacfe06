"""Test doubles for agent assistance: a scripted TextModel (a real class implementing
the port, no MagicMock) and a runner for the pending jobs of one kind."""
from __future__ import annotations

import time

from appliance import jobs
from appliance.models import Job
from appliance.ports import ModelInfo


class ScriptedModel:
    """A TextModel that says what the test scripts: pieces, or an exception on first use.
    `during` runs after each piece (to look at the row while the draft is written)."""

    def __init__(self, pieces=(), error: type[Exception] | None = None, pause: float = 0.0,
                 during=None, then: type[Exception] | None = None):
        self.pieces, self.error, self.pause, self.during = list(pieces), error, pause, during
        self.then = then  # raised after the pieces (a deadline hit mid-draft)
        self.calls: list[dict] = []

    def info(self) -> ModelInfo:
        return ModelInfo("scripted", "0" * 64, "/dev/null", available=self.error is None)

    def complete_json(self, system, user, schema, **kw) -> dict:
        raise AssertionError("drafts never ask for JSON")

    def stream(self, system, user, *, max_tokens=512, timeout_s=60.0, interactive=True):
        self.calls.append({"system": system, "user": user, "interactive": interactive,
                           "max_tokens": max_tokens, "timeout_s": timeout_s})
        if self.error is not None:
            raise self.error("scripted failure")
        for piece in self.pieces:
            yield piece
            if self.pause:
                time.sleep(self.pause)
            if self.during:
                self.during()
        if self.then is not None:
            raise self.then("scripted failure after the pieces")


def run_jobs(name: str) -> None:
    """Run the pending jobs of one kind (other kinds, triage say, are not under test here)."""
    for job in Job.select().where((Job.name == name) & Job.done_at.is_null()).order_by(Job.id):
        jobs.run_job(job.id)
