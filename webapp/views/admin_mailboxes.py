"""Admin: mailboxes (issue 5): the list with each mailbox's fetch state, add, edit (the
mailbox, its department and where its mail is fetched from), "test connection" (its IMAP
server and the shared SMTP relay, one sentence each) and "fetch now". The IMAP password
is write-only: the form never shows it, blank keeps it.
Permission checks are in appliance.services.mailboxes."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import ValidationError
from appliance.services import mailboxes, org
from webapp.views.admin_forms import checked, form_page, values

bp = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")

SECURITY = (("tls", _l("TLS (implicit, usually port 993)")),
            ("starttls", _l("STARTTLS (usually port 143)")),
            ("none", _l("None (only to 127.0.0.1 or localhost)")))
# The service's field messages (appliance.services.mailboxes, appliance.mail.imap).
MESSAGES = {
    "not a valid e-mail address": _l("not a valid e-mail address"),
    "already a mailbox": _l("already a mailbox"),
    "not a valid host name or address": _l("not a valid host name or address"),
    "must be a number from 1 to 65535": _l("must be a number from 1 to 65535"),
    "must be tls, starttls or none": _l("must be tls, starttls or none"),
    "plain IMAP only to 127.0.0.1 or localhost": _l("plain IMAP only to 127.0.0.1 or localhost"),
    "required, one line, at most 254 characters": _l("required, one line, at most 254 characters"),
    "ASCII characters only (IMAP login)": _l("ASCII characters only (IMAP login)"),
    "required, one line, at most 1000 characters":
        _l("required, one line, at most 1000 characters"),
    "one line, at most 200 characters": _l("one line, at most 200 characters"),
    "set the IMAP server and password first": _l("set the IMAP server and password first"),
    "fetching is not enabled for this mailbox": _l("fetching is not enabled for this mailbox"),
}
# "Test connection" results per protocol (appliance.mail.probe.OUTCOMES and
# mailboxes.CHECK_PROBLEMS); the detail is in the server log only.
CHECK_PROBLEMS = {
    "cannot_connect": _l("The server cannot be reached. Check the server name and port."),
    "tls_failed": _l("The secure connection failed. Check the security setting and the "
                     "server's certificate."),
    "login_refused": _l("The server refused the login. Check the user name and password."),
    "folder_missing": _l("The folder cannot be opened. Check that it exists."),
    "timed_out": _l("The server did not answer in time."),
    "password_unreadable": _l("the stored password cannot be read; set it again"),
}
SMTP_RESULTS = {
    "not_configured": _l("No relay is configured (smtp_url): replies are stored but not "
                         "mailed."),
    "cannot_connect": _l("The relay cannot be reached. Check smtp_url in the configuration."),
    "tls_failed": _l("The secure connection to the relay failed. Check smtp_security and "
                     "the relay's certificate."),
    "login_refused": _l("The relay refused the login. Check smtp_username and "
                        "smtp_password."),
}
EDIT_FIELDS = ("name", "department", "host", "port", "security", "username", "folder")


def _settings():
    return current_app.config["GONGDAN"]


def _errors(fields: dict) -> dict:
    return {k: str(MESSAGES.get(v, v)) for k, v in fields.items()}


def _departments():
    return [(d.code, d.name) for d in org.list_departments()]


@bp.get("/")
def index():
    return form_page("admin/mailboxes.html", boxes=mailboxes.list_mailboxes(g.actor),
                     departments=_departments(), form={})


@bp.post("/")
def create():
    form = values("address", "name", "department")
    try:
        box = mailboxes.add_mailbox(g.actor, form["address"], name=form["name"],
                                    department_code=form["department"])
    except ValidationError as exc:
        return form_page("admin/mailboxes.html", _errors(exc.fields),
                         boxes=mailboxes.list_mailboxes(g.actor), departments=_departments(),
                         form=form)
    flash(_("Mailbox %(address)s was added.", address=box.address), "success")
    return redirect(url_for("admin.mailboxes.edit", mailbox_id=box.id))


def _edit_page(mailbox_id: int, errors=None, form=None, check=None):
    box = mailboxes.get_mailbox(g.actor, mailbox_id)
    if form is None:
        form = {"name": box.name, "department": box.department_code or "",
                "active": box.active, "host": box.imap_host,
                "port": box.imap_port, "security": box.imap_security,
                "username": box.imap_username, "folder": box.imap_folder,
                "fetch_enabled": box.fetch_enabled}
    lines = _check_lines(check) if check is not None else {}
    return form_page("admin/mailboxes_edit.html", errors, box=box, form=form, check=check,
                     check_lines=lines, departments=_departments(), security=SECURITY)


def _check_lines(check: mailboxes.ConnectionCheck) -> dict[str, str]:
    """One sentence per protocol; an unknown code reads as "cannot be reached"."""
    imap, smtp = check.imap, check.smtp
    if imap.outcome == "ok":
        imap_line = _("Connected: the folder holds %(count)s messages.", count=imap.messages)
    else:
        imap_line = str(CHECK_PROBLEMS.get(imap.outcome, CHECK_PROBLEMS["cannot_connect"]))
    if smtp.outcome == "ok":
        smtp_line = (_("Connected and logged in.") if smtp.logged_in
                     else _("Connected (no login is configured)."))
    else:
        smtp_line = str(SMTP_RESULTS.get(smtp.outcome)
                        or CHECK_PROBLEMS.get(smtp.outcome, SMTP_RESULTS["cannot_connect"]))
    return {"imap": imap_line, "smtp": smtp_line}


@bp.get("/<int:mailbox_id>")
def edit(mailbox_id: int):
    return _edit_page(mailbox_id)


@bp.post("/<int:mailbox_id>")
def update(mailbox_id: int):
    box = mailboxes.get_mailbox(g.actor, mailbox_id)
    form = {**values(*EDIT_FIELDS), "active": checked("active"),
            "fetch_enabled": checked("fetch_enabled")}
    password = request.form.get("password", "")
    imap = None
    if form["host"] or box.imap_host:
        imap = mailboxes.ImapInput(form["host"], form["port"], form["security"],
                                   form["username"], password or None, form["folder"],
                                   form["fetch_enabled"])
    data = mailboxes.MailboxInput(form["name"], form["department"], form["active"], imap)
    try:
        mailboxes.update_mailbox(g.actor, mailbox_id, data, settings=_settings())
    except ValidationError as exc:
        return _edit_page(mailbox_id, _errors(exc.fields), form=form)
    flash(_("Mailbox %(address)s was saved.", address=box.address), "success")
    return redirect(url_for("admin.mailboxes.edit", mailbox_id=mailbox_id))


@bp.post("/<int:mailbox_id>/test")
def test_connection(mailbox_id: int):
    try:
        check = mailboxes.check_connection(g.actor, mailbox_id, settings=_settings())
    except ValidationError as exc:
        return _edit_page(mailbox_id, _errors(exc.fields))
    return _edit_page(mailbox_id, check=check)


@bp.post("/<int:mailbox_id>/fetch")
def fetch_now(mailbox_id: int):
    try:
        mailboxes.fetch_now(g.actor, mailbox_id)
    except ValidationError as exc:
        return _edit_page(mailbox_id, _errors(exc.fields))
    flash(_("The mailbox will be fetched in a moment."), "success")
    return redirect(url_for("admin.mailboxes.edit", mailbox_id=mailbox_id))
