"""Public web forms: their administration, and turning one post into a customer, a
ticket with its attachments and a confirmation e-mail.

A post is checked in this order: form token (services.webform_tokens: signed, bound to
the form, at most TOKEN_MAX_AGE old and at least MIN_FILL_SECONDS old, its nonce not used
by an earlier post), rate limits (per client, per form), honeypot, fields. A post whose
token opened a ticket already stores nothing: a resubmit of the same post gets the first
post's answer again. Every other post that passed the token leaves exactly one
FormSubmission row (accepted | honeypot | rate_limited | invalid); only accepted ones
store anything else, all in one transaction, with the token's hashed nonce. The limits
and the token are checked inside that transaction, with posts taking turns
(services.webform_log). The client address is kept only as an HMAC with the secret key.
The token's and the log's errors and constants are imported here for the views and tests.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from peewee import IntegrityError

from appliance.errors import DomainError, NotFound, ValidationError
from appliance.jobs import unit_of_work
from appliance.models import Category, Department, WebForm, utcnow
from appliance.rules.access import SYSTEM, Actor
from appliance.services import common
from appliance.services import webform_log as submissions
from appliance.services.attachments import Upload, remove_files, write_files
from appliance.services.identity import normalize
from appliance.services.users import _require_admin
from appliance.services.webform_log import RateLimited
from appliance.services.webform_tokens import (  # noqa: F401
    MIN_FILL_SECONDS,
    TOKEN_MAX_AGE,
    FormTokenError,
    Seal,
    check_token,
    client_hash,
    issue_token,
    nonce_hash,
    post_hash,
)
from appliance.settings import Settings

MAX_FILES = 5
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\*\.[a-z0-9.-]+$")
MAX_ORIGINS = 20


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
    outcome: str               # accepted | honeypot (| rate_limited, inside this module)
    ticket_number: str = ""
    replay: bool = False       # the token had opened this ticket already: nothing stored


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


# -- submitting ------------------------------------------------------------------------------

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


def _seal(s: Submission, nonce: str, settings: Settings) -> Seal:
    fields = (s.name, s.email, s.phone, s.subject, s.description, s.honeypot)
    return Seal(nonce_hash(nonce), post_hash(fields, s.uploads, settings))


def submit(slug: str, s: Submission, client_address: str, settings: Settings, *,
           token: str, now: float | None = None) -> SubmissionResult:
    """One post of the public form. Raises FormTokenError (nothing stored), RateLimited
    (429), ValidationError or an attachment refusal (413/415; an `invalid` row only).
    A resubmit of a post that opened a ticket returns that ticket's number (`replay`)."""
    form = public_form(slug)
    seal = _seal(s, check_token(token, slug, settings, now), settings)
    number = submissions.earlier(seal)
    if number is not None:
        return SubmissionResult("accepted", number, replay=True)
    client = client_hash(client_address, settings)
    submissions.check_rate(form.id, client, settings)
    if (s.honeypot or "").strip():
        submissions.record(form.id, client, "honeypot", settings)
        return SubmissionResult("honeypot")
    try:
        values = _clean_submission(form, s)
        written = write_files(s.uploads, settings)  # all checked before anything is stored
    except DomainError:
        submissions.record(form.id, client, "invalid", settings)
        raise
    return _store(form, values, written, client, seal, settings)


def _store(form: WebFormView, values: dict, written: list[dict], client: str, seal: Seal,
           settings: Settings) -> SubmissionResult:
    """The transaction that opens the ticket. A post that does not (over the limit, or
    its token used by a parallel post that committed first) removes its files."""
    files = [w["storage_name"] for w in written]
    try:
        with unit_of_work():
            result = _admit_and_create(form, values, written, client, seal, settings)
    except IntegrityError:
        remove_files(files, settings)
        number = submissions.earlier(seal)  # the unique nonce: the other post won
        if number is None:
            raise
        return SubmissionResult("accepted", number, replay=True)
    except BaseException:
        remove_files(files, settings)
        raise
    if result.outcome != "accepted" or result.replay:
        remove_files(files, settings)
    if result.outcome == "rate_limited":  # parallel posts used up the limit since check_rate
        raise RateLimited("too many submissions; try again later")
    return result


def _admit_and_create(form: WebFormView, values: dict, written: list[dict], client: str,
                      seal: Seal, settings: Settings) -> SubmissionResult:
    submissions.take_turns(form.id, client)
    number = submissions.earlier(seal)  # a parallel post with this token committed first
    if number is not None:
        return SubmissionResult("accepted", number, replay=True)
    if not submissions.admit(form.id, client, settings):
        return SubmissionResult("rate_limited")
    return SubmissionResult("accepted", _create(form, values, written, client, seal, settings))


def _create(form: WebFormView, values: dict, written: list[dict], client: str, seal: Seal,
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
    submissions.log(form.id, client, "accepted", ticket_id, seal)
    if form.send_confirmation and values["email"]:
        # The form's title, never the visitor's text: anyone may type anyone's address.
        mail_notify.queue_ticket_notice(ticket_id, "received", settings,
                                        to=normalize("email", values["email"]),
                                        form_title=form.title)
    return detail.summary.number
