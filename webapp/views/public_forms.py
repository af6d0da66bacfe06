"""Public web forms /forms/<slug> (issue 5; being built)."""
from flask import Blueprint

bp = Blueprint("forms", __name__, url_prefix="/forms")
