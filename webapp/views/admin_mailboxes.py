"""Admin: mailboxes (issue 5; being built)."""
from flask import Blueprint

bp = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")
