"""Public survey links /survey/<token> (docs/decisions/0037): the page a score in the
survey mail opens, the rating's POST and the optional comment after it.

A link's GET never records anything (mail scanners and link previews open links): it
shows the score the customer clicked, already chosen, with one button to send it and an
optional comment. The answers, in the customer's language, never name the ticket:

- open: the form (200); answered: "thank you, already answered" (200 on GET, since
  clicking an old mail again is no mistake; 409 on a second POST); expired: 410;
  unknown, malformed or forged: 404 — all of them the polite survey page, never a trace.

Every request counts against the per-address limit shared by all workers (services
.rate_limits, kind "survey"), so tokens cannot be guessed at speed. The token is in the
path: responses carry Referrer-Policy no-referrer and are not cached.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from appliance.errors import NotFound, ValidationError
from appliance.services import csat, rate_limits
from appliance.services.rate_limits import RateLimited
from webapp.client import client_address

bp = Blueprint("survey", __name__, url_prefix="/survey")


def _settings():
    return current_app.config["GONGDAN"]


def _page(state: str, status: int, *, token: str = "", view=None, chosen=None, errors=None,
          comment: str = ""):
    html = render_template("survey/survey.html", state=state, token=token, view=view,
                           chosen=chosen, errors=errors or {}, comment=comment,
                           comment_max=csat.COMMENT_MAX)
    response = current_app.make_response((html, status))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _guarded(token: str, action):
    """Run `action()` under the rate limit, turning each refusal into the polite page."""
    try:
        rate_limits.hit("survey", _settings(), ip=client_address())
        return action()
    except RateLimited as exc:
        response = _page("limited", 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except NotFound:
        return _page("unknown", 404)
    except csat.SurveyExpired:
        return _page("expired", 410)
    except csat.SurveyAnswered:
        return _page("answered", 409, token=token, view=csat.survey_by_token(token, _settings()))


def _chosen(value) -> int | None:
    return int(value) if value in {str(n) for n in range(11)} else None


@bp.get("/<token>")
def show(token: str):
    def action():
        view = csat.survey_by_token(token, _settings())
        if view.state == "expired":
            raise csat.SurveyExpired("this survey has expired")
        return _page(view.state, 200, token=token, view=view,
                     chosen=_chosen(request.args.get("r")))
    return _guarded(token, action)


@bp.post("/<token>")
def answer(token: str):
    rating, comment = request.form.get("rating", ""), request.form.get("comment", "")

    def action():
        try:
            view = csat.answer_by_token(token, rating, comment, _settings())
        except ValidationError as exc:
            view = csat.survey_by_token(token, _settings())
            return _page(view.state, 400, token=token, view=view, chosen=_chosen(rating),
                         errors=exc.fields, comment=comment[:csat.COMMENT_MAX])
        return _page("thanks", 200, token=token, view=view)
    return _guarded(token, action)


@bp.post("/<token>/comment")
def comment(token: str):
    text = request.form.get("comment", "")

    def action():
        try:
            view = csat.comment_by_token(token, text, _settings())
        except ValidationError as exc:
            view = csat.survey_by_token(token, _settings())
            return _page("thanks", 400, token=token, view=view, errors=exc.fields,
                         comment=text[:csat.COMMENT_MAX])
        return _page("commented", 200, token=token, view=view)
    return _guarded(token, action)
