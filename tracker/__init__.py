"""The application factory: configuration, extensions, blueprints, error handlers, CLI."""
from __future__ import annotations

import os

from flask import Flask, abort, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from tracker import mail as mail_package
from tracker import services
from tracker.cli.commands import register_cli
from tracker.core import clock
from tracker.core import config as config_module
from tracker.core.extensions import csrf, db, login, migrate, talisman
from tracker.data import report_cache
from tracker.data.database import configure_engine
from tracker.domain import health, lifecycle, vocabulary
from tracker.reports import metrics
from tracker.security import log as security_log
from tracker.web import (
    access,
    admin,
    api,
    assets,
    auth,
    experiments,
    mail,
    mentee,
    mentor,
    mentorship,
    ops,
    presenters,
    reviews,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.path.join(ROOT, "instance"), instance_relative_config=True,
                template_folder=os.path.join(ROOT, "templates"), static_folder=os.path.join(ROOT, "static"))
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config and "SQLALCHEMY_ENGINE_OPTIONS" not in config:
            # The pool's options follow the database given here, not DATABASE_URL's (the ping and the
            # pool sizes are PostgreSQL's, tracker/core/config.py).
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config_module.engine_options(
                config["SQLALCHEMY_DATABASE_URI"], os.environ)
    os.makedirs(app.instance_path, exist_ok=True)

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    register_extensions(app)
    register_security_headers(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    report_cache.configure(app.config["SECRET_KEY"])
    mail_package.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = "Please log in to see that page."
    login.login_message_category = "info"
    login.session_protection = "basic"

    login.user_loader(access.load_user)


CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",            # no inline scripts: chart data travels as JSON
    "style-src": "'self' 'unsafe-inline'",  # plotly.js inserts <style> elements as it draws
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def register_security_headers(app: Flask) -> None:
    """CSP, nosniff, referrer policy, frame denial on every response; HTTPS and HSTS in production."""
    production = app.config["TRACKER_ENV"] == "production"
    talisman.init_app(
        app, force_https=app.config["FORCE_HTTPS"], strict_transport_security=production,
        strict_transport_security_max_age=63072000, content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY", referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"], session_cookie_http_only=True,
        session_cookie_samesite="Lax")


class RowId(IntegerConverter):
    """<int:...> in every route: at most the largest id a row can have (a 32-bit integer column), so a
    larger number is a plain 404, never a number the database refuses."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowId
    for module in (auth, mentee, mentor, mentorship, ops, admin, experiments, api, assets, mail, reviews):
        app.register_blueprint(module.bp)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


def register_errorhandlers(app: Flask) -> None:
    messages = {
        400: ("Bad request", "The request could not be understood."),
        403: ("Not allowed", "Your account cannot open this page."),
        404: ("Not found", "There is nothing here, or it is not yours to see."),
        405: ("Not allowed", "This address does not accept that kind of request."),
        413: ("Too large", "What you sent is larger than this site accepts."),
        500: ("Something went wrong", "We could not finish that. Nothing was changed; please try again."),
    }

    def render_error(code: int, detail: str | None = None):
        title, text = messages.get(code, ("Error", "Something went wrong."))
        if code in (401, 403, 404):
            security_log.event("access_denied", status=code)
        if _wants_json():
            return jsonify(error=detail or text), code
        return render_template("error.html", code=code, title=title, text=detail or text), code

    for code in messages:
        app.register_error_handler(code, lambda e, code=code: render_error(code))
    # A service's NotFound ("does not exist or is not yours") is the same 404 as abort(404), once for every view.
    app.register_error_handler(services.NotFound, lambda e: render_error(404))

    @app.errorhandler(400)
    def bad_request(error):
        # Our own aborts carry a message for the person; Werkzeug's generic one is replaced.
        custom = error.description if error.description != BadRequest.description else None
        return render_error(400, custom)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        security_log.event("csrf_failed", reason=error.description)
        return render_error(400, "The form expired or did not come from this site. "
                                 "Go back, reload the page and try again.")

    @app.before_request
    def refuse_repeated_fields():
        """No form here has a field that may be sent twice: a repeated one is an attack or a bug."""
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
            for name in request.form:
                if len(request.form.getlist(name)) > 1:
                    abort(400, description=f"The field {name!r} was sent more than once.")


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        GOAL_CATEGORIES=vocabulary.GOAL_CATEGORIES, CHURN_REASONS=vocabulary.CHURN_REASONS,
        CHECKIN_MODES=vocabulary.CHECKIN_MODES, GOAL_REACHED=vocabulary.GOAL_REACHED,
        MEETING_PREFERENCES=vocabulary.MEETING_PREFERENCES, OFFERS=vocabulary.OFFERS,
        STAGE_NAMES=vocabulary.STAGE_NAMES, PAID_MONTH_DAYS=lifecycle.PAID_MONTH.days,
        RISK_RULE_TEXTS=health.RISK_RULE_TEXTS, PROGRESS_TIERS=metrics.PROGRESS_TIERS,
        USEFULNESS_BANDS=metrics.USEFULNESS_BAND_LABELS, CADENCES=metrics.CADENCES,
        STARS_MAX=vocabulary.STARS_MAX, TRIAL_DAYS=lifecycle.TRIAL_LENGTH.days, now=clock.now)
    app.jinja_env.filters.update(presenters.FILTERS)
