"""Public web forms: their administration, the signed form token, and turning one post
into a customer, a ticket with its attachments and a confirmation e-mail.

A post is checked in this order: form token (signed, bound to the form, at most
TOKEN_MAX_AGE old and at least MIN_FILL_SECONDS old), rate limits (per client, per
form), honeypot, fields. Every post that passed the token leaves exactly one
FormSubmission row (accepted | honeypot | rate_limited | invalid); only accepted ones
store anything else, all in one transaction. The limits are counted inside the transaction
that writes the row, with posts taking turns (_admit), so parallel posts cannot all pass
on one count. The client address is kept only as an HMAC with the secret key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from peewee import IntegrityError

from appliance.db import database, is_postgres
from appliance.errors import DomainError, NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Category, Department, FormSubmission, WebForm, utcnow
from appliance.rules.access import SYSTEM, Actor
from appliance.services import common
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.services.identity import normalize
from appliance.services.users import _require_admin
from appliance.settings import Settings

TOKEN_MAX_AGE = 2 * 3600
MIN_FILL_SECONDS = 2.0
MAX_FILES = 5
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\*\.[a-z0-9.-]+$")
MAX_ORIGINS = 20
# pg_advisory_xact_lock classes (services.agent_stats uses 4_204): posts to one form, and
# posts from one client, take turns between counting the limits and committing.
LOCK_FORM = 4_301
LOCK_CLIENT = 4_302


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429


class FormTokenError(DomainError):
    """The form token is missing, forged, for another form, expired or too fresh."""
    code = "form_token"
    http_status = 400

    def __init__(self, reason: str):
        super().__init__(f"form token {reason}", reason=reason)
        self.reason = reason  # missing | invalid | expired | too_fast


@dataclass(frozen=True)
class WebFormView:
    id: int
    slug: str
    title: str
    intro: str
    department_id: int | None
    category_id: int | None
    allow_attachments: bool
    send_confirmation: bool
    active: bool
    embed_origins: list[str]
    created_at: dt.datetime


@dataclass(frozen=True)
class WebFormInput:
    slug: str = ""
    title: str = ""
    intro: str = ""
    department_id: int | str | None = None
    category_id: int | str | None = None
    allow_attachments: bool = True
    send_confirmation: bool = True
    active: bool = True
    embed_origins: list[str] | str = field(default_factory=list)


@dataclass(frozen=True)
class Submission:
    name: str = ""
    email: str = ""
    phone: str = ""
    subject: str = ""
    description: str = ""
    honeypot: str = ""
    uploads: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class SubmissionResult:
    outcome: str               # accepted | honeypot
    ticket_number: str = ""


def _view(f: WebForm) -> WebFormView:
    return WebFormView(f.id, f.slug, f.title, f.intro, f.department_id, f.category_id,
                       f.allow_attachments, f.send_confirmation, f.active,
                       list(f.embed_origins or []), f.created_at)


# -- administration --------------------------------------------------------------------------

def list_forms(actor: Actor) -> list[WebFormView]:
    _require_admin(actor)
    return [_view(f) for f in WebForm.select().order_by(WebForm.slug)]


def get_form(actor: Actor, form_id: int) -> WebFormView:
    _require_admin(actor)
    f = WebForm.get_or_none(WebForm.id == form_id)
    if f is None:
        raise NotFound("web form not found", id=form_id)
    return _view(f)


def public_form(slug: str) -> WebFormView:
    """An active form by slug, for the public page (404 for unknown or inactive ones)."""
    f = WebForm.get_or_none((WebForm.slug == (slug or "")[:64]) & (WebForm.active == True))  # noqa: E712
    if f is None:
        raise NotFound("web form not found", slug=(slug or "")[:64])
    return _view(f)


def _origins(value) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, (list, tuple)):
        raise ValidationError({"embed_origins": "must be a list of origins"})
    cleaned = [str(v).strip().lower().rstrip("/") for v in value if str(v).strip()]
    bad = [v for v in cleaned if not _ORIGIN.match(v)]
    if bad:
        raise ValidationError({"embed_origins": "each origin is https://host[:port] "
                                                "(or https://*.domain), without a path"})
    if len(cleaned) > MAX_ORIGINS:
        raise ValidationError({"embed_origins": f"at most {MAX_ORIGINS} origins"})
    return list(dict.fromkeys(cleaned))


def _clean_form(data: WebFormInput, form_id: int | None) -> dict:
    values = common.check_all({
        "slug": lambda: _slug(data.slug, form_id),
        "title": lambda: common.clean_text(data.title, "title", required=True, max_len=200,
                                           single_line=True),
        "intro": lambda: common.clean_text(data.intro, "intro", max_len=5000),
        "department": lambda: common.exists(Department, data.department_id, "department_id"),
        "category": lambda: common.exists(Category, data.category_id, "category_id"),
        "embed_origins": lambda: _origins(data.embed_origins),
    })
    values.update(allow_attachments=bool(data.allow_attachments),
                  send_confirmation=bool(data.send_confirmation), active=bool(data.active))
    return values


def _slug(value, form_id: int | None) -> str:
    slug = common.clean_text(value, "slug", required=True, max_len=64, single_line=True)
    if not _SLUG.match(slug):
        raise ValidationError({"slug": "lower-case letters, digits and -, up to 64"})
    clash = WebForm.select().where(WebForm.slug == slug)
    if form_id:
        clash = clash.where(WebForm.id != form_id)
    if clash.exists():
        raise ValidationError({"slug": "already used"})
    return slug


def save_form(actor: Actor, data: WebFormInput, form_id: int | None = None) -> WebFormView:
    _require_admin(actor)
    values = _clean_form(data, form_id)
    try:
        with unit_of_work():
            if form_id:
                if not WebForm.update(**values).where(WebForm.id == form_id).execute():
                    raise NotFound("web form not found", id=form_id)
                f = WebForm.get_by_id(form_id)
            else:
                f = WebForm.create(**values)
    except IntegrityError:  # the same slug saved at the same moment by someone else
        raise ValidationError({"slug": "already used"}) from None
    return _view(f)


def delete_form(actor: Actor, form_id: int) -> None:
    """Remove a form and its submission log; tickets it created stay."""
    _require_admin(actor)
    with unit_of_work():
        if not WebForm.delete().where(WebForm.id == form_id).execute():
            raise NotFound("web form not found", id=form_id)


# -- tokens and client identity --------------------------------------------------------------

def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="gongdan.webform")


def issue_token(slug: str, settings: Settings, now: float | None = None) -> str:
    """A token for one fill of the form: signed, bound to the slug, with the issue time."""
    return _serializer(settings).dumps({"f": slug, "i": time.time() if now is None else now})


def check_token(token: str, slug: str, settings: Settings, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if not token:
        raise FormTokenError("missing")
    try:
        data = _serializer(settings).loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise FormTokenError("expired") from None
    except BadSignature:
        raise FormTokenError("invalid") from None
    if not isinstance(data, dict) or data.get("f") != slug or \
            not isinstance(data.get("i"), (int, float)):
        raise FormTokenError("invalid")
    age = now - data["i"]
    if age > TOKEN_MAX_AGE:  # the signature's own clock has whole seconds only
        raise FormTokenError("expired")
    if age < MIN_FILL_SECONDS:
        raise FormTokenError("too_fast")


def client_hash(address: str, settings: Settings) -> str:
    """A keyed hash of the client address: rate limits work, the address is not stored."""
    return hmac.new(settings.secret_key.encode(), b"webform-client:" + (address or "").encode(),
                    hashlib.sha256).hexdigest()


# -- submitting ------------------------------------------------------------------------------

def _log(form_id: int, client: str, outcome: str, ticket_id: int | None = None) -> None:
    FormSubmission.create(form=form_id, client_hash=client, outcome=outcome, ticket=ticket_id)


def _over_limit(form_id: int, client: str, settings: Settings) -> bool:
    """Refused posts (rate_limited) do not count, so a blocked client is free again an
    hour after its last counted post."""
    now = utcnow()
    counted = FormSubmission.outcome != "rate_limited"
    per_client = FormSubmission.select(FormSubmission.id).where(
        (FormSubmission.client_hash == client) & counted
        & (FormSubmission.created_at > now - dt.timedelta(hours=1))).limit(
        settings.webform_limit_per_hour).count()
    per_form = FormSubmission.select(FormSubmission.id).where(
        (FormSubmission.form == form_id) & counted
        & (FormSubmission.created_at > now - dt.timedelta(minutes=1))).limit(
        settings.webform_form_limit_per_minute).count()
    return per_client >= settings.webform_limit_per_hour or \
        per_form >= settings.webform_form_limit_per_minute


def _check_rate(form_id: int, client: str, settings: Settings) -> None:
    """An early refusal, before the post is checked and its files are written. It only
    saves work: the count that binds is _admit's, in the transaction that records the post."""
    if _over_limit(form_id, client, settings):
        with unit_of_work():
            _log(form_id, client, "rate_limited")
        raise RateLimited("too many submissions; try again later")


def _admit(form_id: int, client: str, settings: Settings) -> bool:
    """Call first in the transaction that records a counted post: whether it is within the
    limits (when not, the `rate_limited` row is logged instead). Posts take turns from the
    count to their commit, so parallel posts cannot all pass on the same count: on SQLite
    every write transaction is BEGIN IMMEDIATE already; on PostgreSQL transaction locks on
    the form, then the client (always in that order, so two posts cannot deadlock)."""
    if is_postgres():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_FORM, form_id))
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)",
                             (LOCK_CLIENT, int(client[:8], 16) - 2 ** 31))
    if _over_limit(form_id, client, settings):
        _log(form_id, client, "rate_limited")
        return False
    return True


def _record(form_id: int, client: str, outcome: str, settings: Settings) -> None:
    """Log a post that stores nothing else (honeypot, invalid), within the limits."""
    with unit_of_work():
        admitted = _admit(form_id, client, settings)
        if admitted:
            _log(form_id, client, outcome)
    if not admitted:
        raise RateLimited("too many submissions; try again later")


def _clean_submission(form: WebFormView, s: Submission) -> dict:
    errors, values = {}, {}
    for name, max_len, required in (("name", 200, True), ("subject", 255, True),
                                    ("description", 20_000, True)):
        try:
            values[name] = common.clean_text(getattr(s, name), name, required=required,
                                             max_len=max_len, single_line=name != "description")
        except ValidationError as exc:
            errors.update(exc.fields)
    email = (s.email or "").strip()
    phone = (s.phone or "").strip()
    if email and not normalize("email", email):
        errors["email"] = "not a valid email address"
    if phone and not normalize("phone", phone):
        errors["phone"] = "a valid phone number (5-20 digits, + allowed)"
    if not email and not phone:
        errors["email"] = "give an e-mail address or a phone number"
    if s.uploads and not form.allow_attachments:
        errors["attachments"] = "this form does not take attachments"
    elif len(s.uploads) > MAX_FILES:
        errors["attachments"] = f"at most {MAX_FILES} files"
    if errors:
        raise ValidationError(errors)
    values.update(email=email, phone=phone)
    return values


def submit(slug: str, s: Submission, client_address: str, settings: Settings, *,
           token: str, now: float | None = None) -> SubmissionResult:
    """One post of the public form. Raises FormTokenError (nothing stored), RateLimited
    (429), ValidationError or an attachment refusal (413/415; an `invalid` row only)."""
    form = public_form(slug)
    check_token(token, slug, settings, now)
    client = client_hash(client_address, settings)
    _check_rate(form.id, client, settings)
    if (s.honeypot or "").strip():
        _record(form.id, client, "honeypot", settings)
        return SubmissionResult("honeypot")
    try:
        values = _clean_submission(form, s)
        written = write_files(s.uploads, settings)  # all checked before anything is stored
    except DomainError:
        _record(form.id, client, "invalid", settings)
        raise
    try:
        with unit_of_work():
            admitted = _admit(form.id, client, settings)
            number = _create(form, values, written, client, settings) if admitted else ""
    except BaseException:
        remove_files([w["storage_name"] for w in written], settings)
        raise
    if not admitted:  # parallel posts used up the limit since _check_rate
        remove_files([w["storage_name"] for w in written], settings)
        raise RateLimited("too many submissions; try again later")
    return SubmissionResult("accepted", number)


def _create(form: WebFormView, values: dict, written: list[dict], client: str,
            settings: Settings) -> str:
    """Customer, ticket, attachments, submission row and confirmation: one transaction."""
    from appliance.services import mail_notify
    from appliance.services.identity import find_or_create_customer
    from appliance.services.tickets import TicketInput, _attach_files, create_ticket
    # Typed by an anonymous visitor: matches a customer, never adds to one (0016).
    customer_id = find_or_create_customer(values["name"], email=values["email"],
                                          phone=values["phone"], source="web form")
    detail = create_ticket(SYSTEM, TicketInput(
        subject=values["subject"], description=values["description"], channel="web",
        department_id=form.department_id, category_id=form.category_id,
        customer_id=customer_id), settings)
    ticket_id = detail.summary.id
    _attach_files(SYSTEM, ticket_id, written, utcnow())
    _log(form.id, client, "accepted", ticket_id)
    if form.send_confirmation and values["email"]:
        # The form's title, never the visitor's text: anyone may type anyone's address.
        mail_notify.queue_ticket_notice(ticket_id, "received", settings,
                                        to=normalize("email", values["email"]),
                                        form_title=form.title)
    return detail.summary.number
