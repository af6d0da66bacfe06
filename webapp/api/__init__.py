"""REST API /api/v1: bearer tokens, JSON in and out, described by /api/v1/openapi.json.

Views translate, services decide: each route parses its input into declared fields,
calls one service function and answers with the DTO as JSON.
"""
from flask import Blueprint

from webapp.auth import csrf

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates with bearer tokens only and ignores cookies, so CSRF cannot apply.
csrf.exempt(api_bp)

from webapp.api import (auth, conversation, customers, errors, openapi, org,  # noqa: E402,F401
                        relations, search, tickets, users)
from webapp.api import triage  # noqa: E402,F401
from webapp.api import dispatch_admin, presence, supervisor  # noqa: E402,F401
from webapp.api import callbacks, intake  # noqa: E402,F401
from webapp.api import processes  # noqa: E402,F401
from webapp.api import knowledge  # noqa: E402,F401
from webapp.api import roles  # noqa: E402,F401
from webapp.api import reports  # noqa: E402,F401
from webapp.api import reports_dashboard  # noqa: E402,F401
from webapp.api import reports_quality  # noqa: E402,F401
