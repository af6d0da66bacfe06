"""REST API /api/v1 (being built)."""
from flask import Blueprint

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
