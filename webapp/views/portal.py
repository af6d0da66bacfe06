"""portal pages (being built)."""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.get("/")
def tickets():
    return "portal"


@bp.get("/signup")
def signup():
    return "signup"
