"""Knowledge-base administration: synonyms and category reviewers."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/kb")
