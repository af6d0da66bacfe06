"""Human words for what AI triage produces: field names, languages, moods, entity
kinds, suggestion states, confidences. Plain text only; the templates escape it.

Unknown values are shown as they are: a new language code or entity kind from a
newer model must still be visible, never hidden.
"""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext

from webapp.messages import N_
from webapp.views.agent_labels import describe_value, field_label

AI_FIELD_LABELS = {
    "department": lazy_gettext("Department"), "category": lazy_gettext("Category"),
    "priority": lazy_gettext("Priority"), "urgency": lazy_gettext("Urgency"),
    "language": lazy_gettext("Language"), "sentiment": lazy_gettext("Sentiment"),
    "summary": lazy_gettext("Summary"), "entities": lazy_gettext("Entities"),
    "required_skills": lazy_gettext("Required skills"),
    "triage_state": lazy_gettext("Triage"),
}
LANGUAGE_LABELS = {"zh": lazy_gettext("Chinese"), "en": lazy_gettext("English")}
SENTIMENT_LABELS = {"negative": lazy_gettext("Negative"), "neutral": lazy_gettext("Neutral"),
                    "positive": lazy_gettext("Positive")}
ENTITY_LABELS = {"order_numbers": lazy_gettext("Order numbers"),
                 "product": lazy_gettext("Product"), "location": lazy_gettext("Location")}
STATUS_LABELS = {"applied": lazy_gettext("applied"), "confirmed": lazy_gettext("confirmed"),
                 "human": lazy_gettext("set by a person"),
                 "review": lazy_gettext("needs review"), "info": lazy_gettext("for information")}
STATE_LABELS = {"pending": lazy_gettext("AI triage pending…"),
                "auto": lazy_gettext("Routed by AI"),
                "review": lazy_gettext("Needs triage"),
                "done": lazy_gettext("Triage done")}
CONDITION_LABELS = {"keywords": lazy_gettext("Keywords in the ticket"),
                    "vip_customer": lazy_gettext("VIP customer"),
                    "repeat_contact": lazy_gettext("Repeated contact"),
                    "negative_sentiment": lazy_gettext("Negative sentiment")}


def ai_field_label(name: str) -> str:
    """A field by its triage name ("department") or its timeline name ("department_id")."""
    if name in AI_FIELD_LABELS:
        return str(AI_FIELD_LABELS[name])
    return field_label(name)


def _lookup(table: dict, value) -> str:
    return str(table.get(value, value)) if value not in (None, "") else "—"


def language_label(code: str) -> str:
    return _lookup(LANGUAGE_LABELS, code)


def sentiment_label(value: str) -> str:
    return _lookup(SENTIMENT_LABELS, value)


def entity_label(key: str) -> str:
    return _lookup(ENTITY_LABELS, key)


def suggestion_status(status: str) -> str:
    return _lookup(STATUS_LABELS, status)


def triage_state_label(state: str) -> str:
    return _lookup(STATE_LABELS, state)


def condition_label(condition: str) -> str:
    return _lookup(CONDITION_LABELS, condition)


def percent(confidence) -> str:
    """A calibrated probability as a whole percentage ("87%"); "—" when there is none."""
    if confidence is None or isinstance(confidence, bool):
        return "—"
    try:
        return f"{round(float(confidence) * 100)}%"
    except (TypeError, ValueError):
        return "—"


def entity_text(value) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def event_value(value, field: str, names: dict | None = None) -> str:
    """A before/after value of an AI timeline event, in words."""
    if field == "language":
        return language_label(value)
    if field == "sentiment":
        return sentiment_label(value)
    if field == "entities" and isinstance(value, dict) and value:
        return "; ".join(f"{entity_label(k)}: {entity_text(v)}" for k, v in value.items())
    return describe_value(value, field, names)


def event_meta(after) -> str:
    """Confidence and versions of an "ai_triage" event ("confidence 87% · classifier ...")."""
    after = after if isinstance(after, dict) else {}
    parts = []
    if after.get("confidence") is not None:
        parts.append(gettext("confidence %(value)s", value=percent(after["confidence"])))
    for key, msgid in (("model", N_("model %(version)s")),
                       ("classifier", N_("classifier %(version)s")),
                       ("prompt_version", N_("prompt %(version)s")),
                       ("rules_version", N_("rules %(version)s"))):
        if after.get(key):
            parts.append(gettext(msgid, version=after[key]))
    return " · ".join(parts)


def condition_pair(condition: str) -> tuple[str, str]:
    return (condition, condition_label(condition))


FILTERS = {"ai_field_label": ai_field_label, "ai_language": language_label,
           "ai_sentiment": sentiment_label, "ai_entity_label": entity_label,
           "ai_status": suggestion_status, "ai_state": triage_state_label,
           "ai_condition": condition_label, "ai_condition_pair": condition_pair,
           "ai_percent": percent, "ai_entity": entity_text, "ai_event_value": event_value,
           "ai_event_meta": event_meta}


def register(bp) -> None:
    """Register the filters app-wide through a blueprint (admin pages use them too)."""
    for name, fn in FILTERS.items():
        bp.add_app_template_filter(fn, name)
