"""Secure Messaging Portal: the application factory."""
import os
from pathlib import Path

from flask import Flask, redirect, url_for
from flask_login import current_user

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None, overrides=None):
    """Build the app.

    `config` is a name from config.CONFIGS or a config class; by default the
    `PORTAL_CONFIG` environment variable, else `production`: development (a fixed
    secret key, the Dev mailbox) only when asked for. `overrides` is a mapping
    laid over it (tests use it for the database URL).
    """
    import config as config_module

    if config is None or isinstance(config, str):
        config = config_module.config_by_name(
            config or os.environ.get("PORTAL_CONFIG") or config_module.DEFAULT_CONFIG)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
    config.validate(app.config)
    _prepare_sqlite_folder(app)
    _tune_postgresql(app)
    if app.config["TRUSTED_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client IP in evidence and audit comes from X-Forwarded-For only as
        # far back as the proxies we run; anything further left is the client's word.
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from .extensions import db, login_manager, migrate
    from .web.csrf import csrf

    db.init_app(app)
    with app.app_context():
        from .models.connections import tune

        tune(db.engine)  # SQLite's journal; PostgreSQL's dropped connections
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)

    from . import auth, models  # noqa: F401  (models register their tables)
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .auth import session_loader  # noqa: F401  (user loader and unauthorised handler)
    from .recipient import bp as recipient_bp
    from .sender import bp as sender_bp
    from .web.row_ids import RowIdConverter

    # Every <int:...> in a route is a row id; registered before the routes that use it.
    app.url_map.converters["int"] = RowIdConverter
    for blueprint in (auth_bp, admin_bp, account_bp, sender_bp, recipient_bp):
        app.register_blueprint(blueprint)
    if app.config.get("DEV_MAILBOX"):
        from .dev import bp as dev_bp

        app.register_blueprint(dev_bp)

    @app.get("/")
    def home():
        from .auth.homes import home_url

        if current_user.is_authenticated:
            return redirect(home_url(current_user))
        return redirect(url_for("auth.sign_in_page"))

    from .access import check_every_endpoint_has_a_rule, enforce_access_policy
    from .web import errors, request_log, security_headers, templating
    from .web.input_guard import refuse_nul_characters
    from .web.throttling import limiter

    app.before_request(refuse_nul_characters)
    app.before_request(enforce_access_policy)

    security_headers.register(app)
    errors.register(app)
    templating.register(app)
    request_log.register(app)
    limiter.init_app(app)  # after the access policy and CSRF checks; limits in web/throttling.py

    from .cli import register_cli

    register_cli(app)
    check_every_endpoint_has_a_rule(app)
    return app


def _tune_postgresql(app):
    """psycopg prepares a statement after a few runs, and PostgreSQL may then plan
    it once for any value: a search over 48 hours and one over a year would share
    a plan. Searches depend on their values, so every execution gets its own plan."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("options", "-c plan_cache_mode=force_custom_plan")
        options["connect_args"] = connect_args
        # No pool_pre_ping (a round trip per request): models/connections.py drops a
        # connection the server has closed at checkout, without one.
        from .models.connections import POSTGRESQL_POOL_RECYCLE_SECONDS

        options.setdefault("pool_recycle", POSTGRESQL_POOL_RECYCLE_SECONDS)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _prepare_sqlite_folder(app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    prefix = "sqlite:///"
    if uri.startswith(prefix) and uri != "sqlite://" and ":memory:" not in uri:
        Path(uri[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)
