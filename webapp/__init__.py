"""Flask application factory. No side effects beyond binding settings: no
migrations, no network, no prompts (migrations run from `gongdan db upgrade`)."""
from __future__ import annotations

from flask import Flask

from appliance.bootstrap import boot
from appliance.db import database, end_request
from appliance.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = boot(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or None,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        WTF_CSRF_TIME_LIMIT=None,
        GONGDAN=settings,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
    )
    if not settings.secret_key:
        raise RuntimeError("secret_key is not set; run `gongdan init` or set GONGDAN_SECRET_KEY")
    from webapp import i18n, security_headers, auth, errors, filters, request_gate
    request_gate.init_app(app)  # first: no request holds a database connection while it waits
    from webapp import audit_context
    audit_context.init_app(app)  # refuses to start without audit keys; client address per request
    i18n.init_app(app)
    security_headers.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    _register_blueprints(app)
    from webapp import permission_matrix
    permission_matrix.init_app(app)  # after the blueprints: it also guards the API and live

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        end_request()

    return app


def _register_blueprints(app: Flask) -> None:
    from webapp.views import health, home, agent, portal, admin, account, public_forms
    from webapp.api import api_bp
    from webapp import live
    for bp in (health.bp, home.bp, account.bp, agent.bp, portal.bp, admin.bp, public_forms.bp, api_bp,
               live.bp):
        app.register_blueprint(bp)
    from webapp.views import admin_audit
    app.register_blueprint(admin_audit.bp)
    from webapp.views import survey   # public satisfaction survey links
    app.register_blueprint(survey.bp)
