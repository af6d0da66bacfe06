"""Admin: quality inspection settings (services.quality_config; decision 0039).

The form's field names are the service's ("greetings.zh", "weights.empathy",
"departments.3.rate"), so each error lands next to its field. Word lists and patterns
are one per line. Saving makes a new rule-set version; scored replies keep theirs.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.errors import Conflict, ValidationError
from appliance.rules.quality_rules import LANGUAGES, RUBRIC_KEYS, RULE_KEYS
from appliance.services import org, quality_config
from webapp.views.admin_forms import checked, form_page
from webapp.views.agent_quality import ITEM_LABELS

bp = Blueprint("quality", __name__, url_prefix="/quality")
LISTS = ("forbidden_words", "forbidden_patterns", "promise_words", "promise_patterns")
LIST_LABELS = {"forbidden_words": _l("Forbidden words (one per line)"),
               "forbidden_patterns": _l("Forbidden patterns (regular expressions, one per line)"),
               "promise_words": _l("Forbidden promises (one per line)"),
               "promise_patterns": _l("Forbidden promise patterns (regular expressions, one per line)")}


def _form(data: dict, version: int) -> dict:
    form = {k: "\n".join(data.get(k, [])) for k in LISTS}
    for kind in ("greetings", "closings"):
        form.update({f"{kind}.{lang}": "\n".join(data.get(kind, {}).get(lang, []))
                     for lang in LANGUAGES})
    form.update({f"weights.{k}": f"{v:g}" for k, v in data.get("weights", {}).items()})
    form.update({"enabled": data.get("enabled"), "business_time": data.get("business_time"),
                 "response_minutes": str(data.get("response_minutes", "")),
                 "sampling.rate": f"{data['sampling']['rate']:g}",
                 "sampling.lowest": str(data["sampling"]["lowest"]), "version": str(version)})
    for dept, s in data.get("departments", {}).items():
        form[f"departments.{dept}.rate"] = f"{s['rate']:g}"
        form[f"departments.{dept}.lowest"] = str(s["lowest"])
    return form


def _page(form: dict, errors: dict | None = None, version: int = 0):
    return form_page("admin/quality.html", errors, form=form, version=version,
                     lists=LISTS, list_labels=LIST_LABELS, languages=LANGUAGES,
                     weight_keys=RULE_KEYS + RUBRIC_KEYS, item_labels=ITEM_LABELS,
                     departments=org.list_departments(),
                     history=quality_config.history(g.actor))


@bp.get("/")
def index():
    view = quality_config.get(g.actor)
    return _page(_form(view.data, view.version), version=view.version)


def _posted() -> dict:
    """The service's shape from the form; only the listed fields are read."""
    f = request.form
    data = {k: f.get(k, "") for k in LISTS}
    data.update({"enabled": checked("enabled"), "business_time": checked("business_time"),
                 "response_minutes": f.get("response_minutes", ""),
                 "greetings": {lang: f.get(f"greetings.{lang}", "") for lang in LANGUAGES},
                 "closings": {lang: f.get(f"closings.{lang}", "") for lang in LANGUAGES},
                 "weights": {k: f.get(f"weights.{k}", "") for k in RULE_KEYS + RUBRIC_KEYS},
                 "sampling": {"rate": f.get("sampling.rate", ""),
                              "lowest": f.get("sampling.lowest", "")}})
    departments = {}
    for d in org.list_departments():
        rate, lowest = f.get(f"departments.{d.id}.rate", ""), f.get(f"departments.{d.id}.lowest", "")
        if rate.strip() or lowest.strip():    # blank: the default sampling applies
            departments[str(d.id)] = {"rate": rate, "lowest": lowest}
    data["departments"] = departments
    return data


@bp.post("/")
def save():
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    form["enabled"], form["business_time"] = checked("enabled"), checked("business_time")
    try:
        view = quality_config.save(g.actor, _posted(), expected_version=request.form.get("version"))
    except ValidationError as exc:
        return _page(form, exc.fields, quality_config.current().version)
    except Conflict:
        return _page(form, {"version": _("Someone saved these settings meanwhile; reload "
                                          "the page and enter your changes again.")},
                     quality_config.current().version)
    flash(_("Quality settings saved as version %(version)s.", version=view.version), "success")
    return redirect(url_for("admin.quality.index"))
