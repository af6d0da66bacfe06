"""Admin: integration tokens for the chat and call intake API (issue 5; being built)."""
from flask import Blueprint

bp = Blueprint("integrations", __name__, url_prefix="/integrations")
