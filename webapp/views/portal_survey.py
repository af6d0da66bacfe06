"""The portal's satisfaction survey: a logged-in customer answers the open survey of their
own ticket on its page (one click per score, an optional comment, CSRF-protected POST);
no link token is involved. Routes on the portal blueprint."""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask import request
from flask_babel import gettext as _

from appliance.errors import ValidationError
from appliance.services import csat
from webapp.views.portal import _settings, bp, customer_only


@bp.post("/tickets/<int:ticket_id>/survey/<int:survey_id>")
@customer_only
def survey_answer(ticket_id: int, survey_id: int):
    try:
        csat.answer_in_portal(g.actor, survey_id, request.form.get("rating", ""),
                              request.form.get("comment", ""), _settings())
    except ValidationError as exc:
        flash(_("Please choose a score from 1 to 5.") if "rating" in exc.fields else
              _("Your comment may have at most %(n)s characters.", n=csat.COMMENT_MAX), "error")
    except (csat.SurveyAnswered, csat.SurveyExpired):
        flash(_("This survey can no longer be answered. Thank you all the same."), "warning")
    else:
        flash(_("Thank you for your answer!"), "success")
    return redirect(url_for("portal.ticket", ticket_id=ticket_id))
