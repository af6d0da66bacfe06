"""Public web forms /forms/<slug>: a minimal page (no agent chrome) that the form's
allowed origins may frame.

A framed page may not get its cookies (third-party cookies), so the POST is protected
by a signed, timestamped token bound to the form (appliance.services.webforms) instead
of the session CSRF token, and this one view is exempt from flask-wtf's CSRF check.
Nothing here reads or sets the session. The language comes from ?lang= or the browser.

Every refusal of a post (400 invalid or token, 413 too large, 415 wrong type, 429 limited)
is this form's page again, with the message beside its field and the form's own
frame-ancestors, so a visitor inside the embedding site's iframe sees it; that includes a
body over max_request_bytes, which Flask refuses while reading the form (`too_large`).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from appliance.errors import DomainError, NotFound, ValidationError
from appliance.services import webforms
from appliance.services.attachments import Upload
from webapp.auth import csrf
from webapp.client import client_address
from webapp.i18n import LANGUAGES
from webapp.security_headers import CSP
from webapp.views.forms_labels import translate, translated

bp = Blueprint("forms", __name__, url_prefix="/forms")

FIELDS = ("name", "email", "phone", "subject", "description")
THANKS_MAX_AGE = 3600


def _settings():
    return current_app.config["GONGDAN"]


def language(body: bool = True) -> str:
    """?lang=zh_CN|en (kept in the form's URL and a hidden field on POST), else the browser,
    else the default. `body=False`: not from the form fields (a body too large to read)."""
    chosen = (request.values if body else request.args).get("lang", "")
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best:
        return "en" if best == "en" else "zh_CN"
    return _settings().default_locale


def frame_csp(origins: list[str]) -> str:
    """The app's policy with frame-ancestors naming the form's origins ('none' if none)."""
    allowed = " ".join(origins) if origins else "'none'"
    return CSP.replace("frame-ancestors 'none'", f"frame-ancestors {allowed}")


def _page(form, lang: str, status: int = 200, **context):
    with force_locale(lang):
        html = render_template(context.pop("template", "public/form.html"), form=form, lang=lang,
                               **context)
    response = current_app.make_response((html, status))
    response.headers["Content-Security-Policy"] = frame_csp(form.embed_origins)
    return response


def _form_page(form, lang: str, values=None, errors=None, status: int = 200):
    token = webforms.issue_token(form.slug, _settings())
    return _page(form, lang, status, values=values or {}, errors=errors or {}, token=token,
                 files_again=bool(errors) and form.allow_attachments)


@bp.get("/<slug>")
def show(slug: str):
    return _form_page(webforms.public_form(slug), language())


def _uploads() -> list[Upload]:
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    return [Upload(f.filename, f.read()) for f in files]


def _thanks_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_settings().secret_key, salt="gongdan.webform.thanks")


@bp.post("/<slug>")
@csrf.exempt
def submit(slug: str):
    form = webforms.public_form(slug)
    lang = language()
    values = {n: request.form.get(n, "") for n in FIELDS}
    with force_locale(lang):
        return _submit(form, lang, values)


def _submit(form, lang: str, values: dict):
    s = webforms.Submission(**values, honeypot=request.form.get("website", ""),
                            uploads=_uploads())
    try:
        result = webforms.submit(form.slug, s, client_address(), _settings(),
                                 token=request.form.get("form_token", ""))
    except NotFound:
        raise
    except DomainError as exc:
        return _form_page(form, lang, values, _refusal(exc), status=exc.http_status)
    # A resubmit of a post that opened a ticket (double click, reload, back and send)
    # gets this same answer: the same ticket number, nothing stored again.
    sealed = _thanks_serializer().dumps(result.ticket_number)
    return redirect(url_for("forms.thanks", slug=form.slug, lang=lang, r=sealed), 303)


def _refusal(exc: DomainError) -> dict:
    """The message of a refused post, by the field it belongs beside ("form": the top)."""
    if isinstance(exc, webforms.FormTokenError):
        return {"form": _token_notice(exc.reason)}
    if isinstance(exc, webforms.RateLimited):
        return {"form": _("We have received many messages from you or from this network in a "
                          "short time. Please try again later.")}
    if isinstance(exc, ValidationError):
        return translated(exc.fields)
    # an attachment refused: too large (413) or wrong type (415)
    return {"attachments": translate(exc.message)}


def _token_notice(reason: str) -> str:
    if reason == "too_fast":
        return _("That was quick. Please check your message, then send it again.")
    if reason == "used":
        return _("This form was sent already. To send another request, check the details "
                 "and send it again.")
    return _("The form had expired. Please send it again.")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    """A body over max_request_bytes: Flask refuses it while the view reads the form, so
    nothing was seen or stored. The app's error page may not be framed; this form's page
    may. What was typed cannot be read back, so only the message comes back."""
    try:
        form = webforms.public_form((request.view_args or {}).get("slug", ""))
    except NotFound:
        return render_template("error.html", status=404, message=_("Not Found"), details={}), 404
    lang = language(body=False)
    with force_locale(lang):
        size = _size(_settings().max_request_bytes)
        if form.allow_attachments:
            errors = {"attachments": _("Too much to send at once: at most %(size)s in all. "
                                       "Please choose fewer or smaller files.", size=size)}
        else:
            errors = {"form": _("The message is too large to send (at most %(size)s).",
                                size=size)}
        return _form_page(form, lang, {}, errors, status=413)


def _size(n: int) -> str:
    return f"{n / 1048576:.0f} MB" if n >= 1048576 else f"{max(1, n // 1024)} KB"


@bp.get("/<slug>/thanks")
def thanks(slug: str):
    form = webforms.public_form(slug)
    try:
        number = _thanks_serializer().loads(request.args.get("r", ""), max_age=THANKS_MAX_AGE)
    except BadSignature:
        abort(404)
    return _page(form, language(), template="public/form_thanks.html", number=number)
