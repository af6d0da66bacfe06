"""Quality inspection (质检, migration 0023, docs/decisions/0039): the administrator's rule
sets (every save a new version, the old ones kept), one inspection per agent reply and
rule-set version, and the history of every score adjustment and appeal."""
from __future__ import annotations

import peewee as pw

from .base import BaseModel, utcnow
from .org import Department, User
from .tickets import Comment, Ticket


class QualityRuleset(BaseModel):
    version = pw.IntegerField(unique=True)        # the newest is in force
    config = pw.JSONField(default=dict)           # rules.quality_score.to_json
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


class QualityInspection(BaseModel):
    comment = pw.ForeignKeyField(Comment, backref="+", on_delete="CASCADE")
    ruleset_version = pw.IntegerField()
    ticket = pw.ForeignKeyField(Ticket, backref="+", on_delete="CASCADE")
    # Who and where, as they were when the reply was written (reports group by these).
    agent = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    department = pw.ForeignKeyField(Department, null=True, backref="+", on_delete="SET NULL")
    replied_at = pw.DateTimeField()
    language = pw.CharField(max_length=8, default="")
    findings = pw.JSONField(default=list)         # [Finding.to_json() + "reason"], masked
    rule_points = pw.FloatField(default=0)
    rubric = pw.JSONField(null=True)              # {dimension: {"score": 1-5, "reason": str}}
    rubric_state = pw.CharField(max_length=8, default="pending")   # pending|done|failed|off
    rubric_error = pw.CharField(max_length=255, default="")
    rubric_tries = pw.SmallIntegerField(default=0)
    rubric_model = pw.CharField(max_length=128, default="")
    prompt_version = pw.CharField(max_length=32, default="")
    score = pw.FloatField(default=0)              # as scored, 0-100; never changed by people
    complete = pw.BooleanField(default=False)     # False: rules only (rubric missing)
    adjusted = pw.JSONField(default=dict)         # item -> value set by a supervisor
    adjusted_score = pw.FloatField(null=True)
    sampled = pw.BooleanField(default=False)      # drawn at random for review
    reviewed_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    reviewed_at = pw.DateTimeField(null=True)
    appeal_state = pw.CharField(max_length=8, default="")   # "" | open | upheld | rejected
    appeal_reason = pw.TextField(default="")
    appealed_at = pw.DateTimeField(null=True)
    appeal_comment = pw.TextField(default="")
    appeal_resolved_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    appeal_resolved_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("comment", "ruleset_version"), True), (("department", "replied_at"), False),
                   (("agent", "replied_at"), False))

    @property
    def final_score(self) -> float:
        return self.adjusted_score if self.adjusted_score is not None else self.score


class QualityAdjustment(BaseModel):
    """One line of an inspection's history: a score changed, an appeal made or decided."""
    inspection = pw.ForeignKeyField(QualityInspection, backref="history", on_delete="CASCADE")
    actor = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    kind = pw.CharField(max_length=16)            # adjust | appeal | upheld | rejected
    item = pw.CharField(max_length=32, default="")
    before = pw.FloatField(null=True)
    after = pw.FloatField(null=True)
    comment = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
