"""Translation of the domain's messages for display.

Services speak plain English (they must not import Flask-Babel); this table maps
each of their messages, fixed or with parameters, to a translatable msgid. Keep it
in step with appliance/services and appliance/rules (a test checks the samples).
"""
from __future__ import annotations

import re

from flask_babel import gettext, lazy_gettext as _l


def N_(msgid: str) -> str:
    """Marks a msgid for extraction (`pybabel extract -k N_`) without translating it yet."""
    return msgid


FIXED = {m: _l(m) for m in (
    # roles and permissions (services/roles.py, rules/access.py; decision 0029)
    N_("your role does not permit this"),
    N_("only the security administrator assigns this role"), N_("you may not change roles"),
    N_("only the security administrator manages this account"),
    N_("you may not manage roles"), N_("you may not assign roles"), N_("role not found"),
    N_("is the name of a built-in role"), N_("a staff role needs ticket.view"),
    N_("cannot change while users hold the role"), N_("no such role"),
    N_("users hold this role; assign them another first"),
    N_("customers and staff accounts are not interchangeable"),
    N_("the role was changed by someone else"),
    N_("required"), N_("must be text"), N_("must be an id"), N_("does not exist"),
    N_("the password is managed by the enterprise directory"),
    N_("already taken"), N_("already used"), N_("already exists"),
    N_("already exists at this level"), N_("already used in this department"),
    N_("must not contain /"), N_("a category cannot be inside itself"), N_("incorrect"),
    N_("must differ from the current password"), N_("must be a whole number"),
    N_("must be between 0 and 500"), N_("must be zh_CN or en"), N_("must be 1 to 5"),
    N_("must be an active agent"), N_("agent is outside the ticket's department"),
    N_("cannot be changed"), N_("unknown or read-only field"), N_("must be a list of words"),
    N_("at most 20 tags"), N_("must be an ISO 8601 date-time"), N_("must be an integer"),
    N_("must be an object"), N_("must be 1, 2, 3 or 4 (P1 is most urgent)"),
    N_("must be 1, 2, 3 or 4"), N_("must be low, medium or high"), N_("invalid paging cursor"),
    N_("2-64 letters, digits or . _ @ -"), N_("not a valid email address"),
    N_("a valid phone number or email address"),
    N_("lower-case letters, digits and _, starting with a letter"), N_("list at least one option"),
    N_("unknown field"), N_("must be a number"), N_("must be a finite number"),
    N_("must be a date YYYY-MM-DD"), N_("too common or contains the user name"),
    N_("a ticket cannot be linked to itself"), N_("this would make a parent/child cycle"),
    N_("cannot merge a ticket into itself"), N_("you cannot disable your own account"),
    N_("you cannot change your own role"), N_("you already have a filter with this name"),
    N_("enter a ticket number (GD-2026-000123) or id"),
    N_("a merged ticket cannot be merged again"),
    N_("the customer was changed by someone else; reload and try again"),
    N_("the ticket was changed by someone else; reload and try again"),
    N_("these tickets are already linked"), N_("this ticket is closed; please open a new ticket"),
    N_("attachment not found"), N_("category not found"), N_("comment not found"),
    N_("custom field not found"), N_("customer not found"), N_("department not found"),
    N_("link not found"), N_("saved filter not found"), N_("ticket not found"),
    N_("token not found"), N_("user not found"), N_("administrators only"),
    N_("customers cannot write internal notes"), N_("staff only"),
    N_("the portal is for customers"), N_("you may not change this ticket"),
    N_("at most 2000 characters"), N_("at most 256 characters"), N_("invalid input"),
    N_("give the ticket a department or an assignee first"),
    N_("internal notes cannot be split"), N_("tickets of different customers cannot be merged"),
    N_("this ticket was merged into another ticket"),
    # AI triage (appliance/services/triage.py, ai_admin.py)
    N_("not a current label of this field"), N_("this label already has a profile"),
    N_("label profile not found"), N_("rule not found"), N_("required for a keyword rule"),
    N_("a rule sets a priority, an urgency or both"),
    N_("a sentiment threshold is 0 to 100 (how negative, in %)"),
    N_("contacts within 7 days: at least 1"), N_("no such classifier version to roll back to"),
    N_("no suggestion for this field"), N_("triage run not found"), N_("AI triage is for staff"),
    # Drafts and knowledge articles (appliance/services/assist.py, knowledge.py)
    N_("article not found"), N_("draft not found"), N_("supervisors and administrators only"),
    N_("the article was changed by someone else; reload and try again"),
    # Dispatch (appliance/services/dispatch_board.py, dispatch_actions.py, presence.py,
    # dispatch_profiles.py): shown on error pages too
    N_("only supervisors and administrators may see the dispatch board"),
    N_("only supervisors can reassign tickets"), N_("absence not found"),
    N_("only supervisors may set another agent's presence"),
    N_("only agents of a department can take tickets from its queue"),
    N_("not a staff member"),
    # Processes (appliance/services/process_*.py)
    N_("not a field of this step"), N_("fill in the required fields to complete the step"),
    N_("only task steps are completed by hand"), N_("this step is no longer open"),
    N_("you may not complete this step"),
    N_("process step not found"), N_("approval not found"),
    N_("this approval was already decided"), N_("this approval is no longer open"),
    N_("must be approved or rejected"), N_("process not found"),
    N_("this process is already running on the ticket"), N_("the process has no start node"),
    N_("process instance not found"), N_("only a process in error can be retried"),
    N_("this process has ended"), N_("process version not found"),
    N_("differs from the document's key"), N_("2-64 lower-case letters, digits or _"),
    N_("someone else saved this process at the same time; reload it"),
    N_("the draft was changed by someone else; reload and try again"),
    N_("only a draft can be published"),
    N_("the draft was changed while it was being published; reload it"),
    N_("only a published version can be retired"),
    N_("this process has a draft already: publish or change it first"),
    N_("the process definition has problems"),
    N_("the file is not a valid process definition"),
    N_("cannot be simulated: fix its problems first"),
    N_("a person cannot be their own manager"), N_("process draft not found"),
    N_("the category's reviewers only"), N_("published articles are changed by their reviewers"),
    N_("this article already has a translation in that language"),
    N_("must be a date (YYYY-MM-DD)"),
    N_("this article is published or used in replies: archive it instead"),
    N_("only an open proposal to update an article can be merged"), N_("version not found"),
    N_("file not found"), N_("reviewer not found"), N_("must be an active staff member"),
    N_("a proposal to update an article is merged into it, not published"),
    # Authentication (appliance/services/login.py, mfa.py, user_sessions.py, rate_limits.py,
    # security/passwords.py; decision 0027)
    N_("too common: it is in a list of breached passwords"),
    N_("must not contain the user name or email address"),
    N_("must use 3 of: lower-case letters, upper-case letters, digits, symbols"),
    N_("invalid code"), N_("start the set-up again"), N_("set up an authenticator app first"),
    N_("your role requires a second factor"), N_("enter your password to confirm this change"),
    N_("too many attempts; try again later"), N_("session not found"),
    N_("invalid user name or password"),
    # Rate limits on suggestions (services/knowledge_suggest.py; decision 0031)
    N_("too many suggestion requests; slow down"),
    # Audit log (appliance/services/audit.py, audit_export.py; decision 0026)
    N_("the audit log cannot be written; the action was not carried out"),
    N_("audit administrators only"), N_("must be csv or jsonl"),
    N_("must be one of success, failure, denied"),
    # Encryption at rest and erasure (appliance/services/encryption.py, customers.py,
    # erasure.py; decision 0030)
    N_("a stored encrypted value failed authentication and was not shown; restore it from a backup"),
    N_("a stored file failed authentication and was not served; restore it from a backup"),
    N_("not a valid ID number"),
    N_("only the system administrator may erase customer data"),
    # Reports dashboard (appliance/services/reports.py, reports_drill.py; decision 0040)
    N_("must not be before the start date"),
    N_("you may see the reports of your own department only"),
    N_("agents see their own figures only"), N_("is not a bar of this figure"),
    N_("must be a whole number from 1"),
)}

# (pattern, msgid with named placeholders filled from the pattern's named groups).
PATTERNS = [
    (r"the last active (?P<role>[a-z_]+) cannot be removed",
     N_("the last active %(role)s cannot be removed")),
    (r"not available to this base role: (?P<names>.+)",
     N_("not available to this base role: %(names)s")),
    (r"unknown permission: (?P<names>.+)", N_("unknown permission: %(names)s")),
    (r"at most (?P<n>\d+) characters", N_("at most %(n)s characters")),
    (r"at least (?P<n>\d+) characters", N_("at least %(n)s characters")),
    (r"must not be one of your last (?P<n>\d+) passwords",
     N_("must not be one of your last %(n)s passwords")),
    (r"at most (?P<n>\d+) files", N_("at most %(n)s files")),
    (r"at most (?P<n>\d+) saved filters", N_("at most %(n)s saved filters")),
    (r"must be one of:? (?P<values>.+)", N_("must be one of: %(values)s")),
    (r"must be chosen from: (?P<values>.+)", N_("must be chosen from: %(values)s")),
    (r"unknown status: (?P<values>.+)", N_("unknown status: %(values)s")),
    (r"action (?P<action>\S+) does not apply to an article in status (?P<status>\S+)",
     N_("action %(action)s does not apply to an article in status %(status)s")),
    (r"must be between (?P<a>-?\d+) and (?P<b>\d+)", N_("must be between %(a)s and %(b)s")),
    (r"(?P<name>.+): larger than (?P<n>\d+) bytes", N_("%(name)s: larger than %(n)s bytes")),
    (r"(?P<name>.+): file type \.(?P<ext>.*) is not allowed",
     N_("%(name)s: file type .%(ext)s is not allowed")),
    (r"(?P<name>.+): content does not match \.(?P<ext>.+)",
     N_("%(name)s: content does not match .%(ext)s")),
    (r"(?P<name>.+): not a text file", N_("%(name)s: not a text file")),
    (r"(?P<name>.+): not a readable archive", N_("%(name)s: not a readable archive")),
    (r"(?P<name>.+): archive expands too much", N_("%(name)s: archive expands too much")),
    (r"(?P<name>.+): the file is empty", N_("%(name)s: the file is empty")),
    (r"at most (?P<n>\d+) examples", N_("at most %(n)s examples")),
    (r"at most (?P<n>\d+) keywords", N_("at most %(n)s keywords")),
    (r"cannot move a ticket from (?P<a>\S+) to (?P<b>\S+)",
     N_("cannot move a ticket from %(a)s to %(b)s")),
    (r"used by published processes: (?P<names>.+)",
     N_("used by published processes: %(names)s")),
    (r"at most (?P<n>\d+) bytes", N_("at most %(n)s bytes")),
    (r"the range may span at most (?P<n>\d+) days", N_("the range may span at most %(n)s days")),
]
_COMPILED = [(re.compile(f"^{p}$", re.S), msgid) for p, msgid in PATTERNS]


def translate(message) -> str:
    """The message in the user's language; unknown messages are shown as they are."""
    if message is None:
        return ""
    text = str(message)
    if text in FIXED:
        return str(FIXED[text])
    for pattern, msgid in _COMPILED:
        m = pattern.match(text)
        if m:
            return gettext(msgid, **m.groupdict())
    return text
