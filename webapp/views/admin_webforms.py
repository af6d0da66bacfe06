"""Admin: public web forms (issue 5; being built)."""
from flask import Blueprint

bp = Blueprint("webforms", __name__, url_prefix="/forms")
