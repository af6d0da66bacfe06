"""agent pages (being built)."""
from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/agent")


@bp.get("/")
def queue():
    return "agent queue"
