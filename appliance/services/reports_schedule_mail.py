"""The body and attachment of a scheduled report mail, made when the outbox sends it
(services.mail_outbound_message asks here for rows of kind "report:<run id>").

The dashboard is computed then under the OWNER's current permissions: an owner who lost
access gets the schedule paused and the mail fails for good (nothing is attached). The
attachment holds the dashboard's figures and series only, never a ticket list, so no
customer's personal data leaves in a scheduled mail. Each mail is audited as an export.
"""
from __future__ import annotations

import html

from appliance.errors import PermissionDenied, ValidationError
from appliance.mail import compose
from appliance.models import ReportRun, ReportSchedule, User
from appliance.models.mail import MailMessage
from appliance.services import reports, reports_export
from appliance.services.reports_schedule import MAIL_KIND, owner_problem, pause

_TEXT = {
    "zh_CN": ["您好：", "附件是定期报表“{name}”，统计区间 {first} 至 {last}，共 {rows} 行。",
              "此邮件由工单系统按 {owner} 设置的计划自动发送；如不需要，请联系其停止该计划。"],
    "en": ["Hello,", "Attached is the scheduled report \"{name}\" for {first} to {last} ({rows} rows).",
           "Gongdan sent this automatically on a schedule set up by {owner}; ask them to stop "
           "it if you no longer need it."],
}


def is_report_mail(row: MailMessage) -> bool:
    return row.comment_id is None and (row.kind or "").startswith(MAIL_KIND)


def mail_content(row: MailMessage, settings) -> tuple[str, str, list[compose.Attachment]]:
    """(text, html, [attachment]); LookupError when there is nothing to send (the
    schedule or run was deleted, or the owner lost access: then the schedule is paused)."""
    run = ReportRun.get_or_none(ReportRun.id == _run_id(row))
    s = ReportSchedule.get_or_none(ReportSchedule.id == run.schedule_id) if run else None
    if run is None or s is None:
        raise LookupError("the report schedule was deleted")
    owner = User.get_or_none(User.id == s.owner_id)
    problem = owner_problem(owner)
    if problem:
        pause(s.id, problem)
        raise LookupError(problem)
    from appliance.services.users import actor_of
    actor = actor_of(owner)
    raw = {**(s.params or {}), "from": run.date_from.isoformat(), "to": run.date_to.isoformat()}
    try:
        flt = reports.parse_filter(raw, run.date_to)
        file = reports_export.export_dashboard(actor, flt, s.format, via="schedule")
    except (PermissionDenied, ValidationError) as exc:
        reason = "the owner may no longer see this report"
        pause(s.id, reason)
        raise LookupError(reason) from exc
    ReportRun.update(status="sent", rows=file.rows).where(ReportRun.id == run.id).execute()
    text = _text(owner.locale or getattr(settings, "default_locale", "zh_CN"), s, run,
                 owner.display_name, file.rows)
    return text, _html(text), [compose.Attachment(file.filename, file.content_type.split(";")[0],
                                                  file.data)]


def _run_id(row: MailMessage) -> int:
    tail = (row.kind or "")[len(MAIL_KIND):]
    return int(tail) if tail.isdigit() else 0


def _text(locale: str, s: ReportSchedule, run: ReportRun, owner: str, rows: int) -> str:
    lines = _TEXT["en" if locale.startswith("en") else "zh_CN"]
    values = {"name": s.name, "first": run.date_from.isoformat(),
              "last": run.date_to.isoformat(), "rows": rows, "owner": owner}
    return "\n\n".join(line.format(**values) for line in lines) + "\n"


def _html(text: str) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>\n'
