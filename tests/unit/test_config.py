"""Configuration: production by default, and it refuses to start without a real secret."""
import re
from pathlib import Path

import pytest

import config
from portal import create_app

MESSAGE_KEYS = "k1:" + "A" * 43 + "="
# `SECRET_KEY=<value>` and `AUDIT_HMAC_KEY=<value>` as README.md and docs/ show them.
DOCUMENTED_SECRET_KEY = re.compile(r"^\s*(?:SECRET_KEY|AUDIT_HMAC_KEY)=(.+?)\s*$",
                                   re.MULTILINE)


@pytest.fixture
def production(monkeypatch):
    """Production settings with message keys; call it with a SECRET_KEY to use."""
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", MESSAGE_KEYS)
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEY_ID", "k1")

    def with_secret_key(value, audit_key=None):
        monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", value)
        monkeypatch.setattr(config.ProductionConfig, "AUDIT_HMAC_KEY", audit_key)
        return create_app("production", overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})

    return with_secret_key


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is not set"):
        create_app("production")


def test_production_starts_with_a_secret_key(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "x" * 64)
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEY_ID", "k1")
    app = create_app("production", overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_config_name_is_named_in_the_error():
    with pytest.raises(config.ConfigError, match="staging"):
        create_app("staging")


@pytest.mark.parametrize("key,value", [("SECURE_MESSAGING_EDITION", "Gold"),
                                       ("READ_STATUS_MODE", "whenever")])
def test_bad_seed_settings_are_refused(key, value):
    with pytest.raises(config.ConfigError, match=key):
        create_app("test", overrides={key: value})


@pytest.mark.parametrize("days", [0, -1, 3651, 1_000_000, "30"])
def test_a_registration_window_outside_one_day_to_ten_years_is_refused(days):
    with pytest.raises(config.ConfigError, match="REGISTRATION_LINK_DAYS must be a whole "
                                                 "number of days from 1 to 3650"):
        create_app("test", overrides={"REGISTRATION_LINK_DAYS": days})


def test_a_registration_window_of_ten_years_is_taken():
    app = create_app("test", overrides={"REGISTRATION_LINK_DAYS": 3650})
    assert app.config["REGISTRATION_LINK_DAYS"] == 3650


def test_without_portal_config_the_portal_starts_in_production(monkeypatch, production):
    monkeypatch.delenv("PORTAL_CONFIG", raising=False)
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "x" * 64)
    app = create_app(overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert "dev.mailbox" not in app.view_functions
    # Development only when asked for.
    monkeypatch.setenv("PORTAL_CONFIG", "development")
    assert create_app(overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config[
        "ENV_NAME"] == "development"


def documented_secret_keys():
    found = set()
    for page in [Path(config.BASE_DIR, "README.md"), *Path(config.BASE_DIR, "docs").glob("*.md")]:
        found.update(DOCUMENTED_SECRET_KEY.findall(page.read_text()))
    return sorted(found)


def test_the_documentation_shows_a_secret_key_example():
    # The next test is only as good as this list.
    assert "<python -c 'import secrets; print(secrets.token_hex(32))'>" in documented_secret_keys()
    assert "<another such value>" in documented_secret_keys()  # AUDIT_HMAC_KEY's


@pytest.mark.parametrize("value", [*documented_secret_keys(), "change-me", " Change-Me ",
                                   "development-only-secret-key", "test-secret-key"])
def test_production_refuses_a_documented_example_secret_key(production, value):
    with pytest.raises(config.ConfigError, match="SECRET_KEY is an example value"):
        production(value)


@pytest.mark.parametrize("value", ["x" * 31, "é" * 15, "k"])
def test_production_refuses_a_secret_key_shorter_than_32_bytes(production, value):
    with pytest.raises(config.ConfigError, match="SECRET_KEY is shorter than 32 bytes"):
        production(value)


@pytest.mark.parametrize("value", [*documented_secret_keys(), " Change-Me "])
def test_production_refuses_a_documented_example_audit_key(production, value):
    with pytest.raises(config.ConfigError, match="AUDIT_HMAC_KEY is an example value"):
        production("x" * 64, audit_key=value)


@pytest.mark.parametrize("value", ["x" * 31, "k"])
def test_production_refuses_an_audit_key_shorter_than_32_bytes(production, value):
    with pytest.raises(config.ConfigError, match="AUDIT_HMAC_KEY is shorter than 32 bytes"):
        production("x" * 64, audit_key=value)


def test_production_takes_an_audit_key_of_32_bytes_or_none(production):
    assert production("x" * 64, audit_key="a" * 32).config["AUDIT_HMAC_KEY"] == "a" * 32
    assert production("x" * 64).config["AUDIT_HMAC_KEY"] is None  # derived from SECRET_KEY


def test_production_takes_a_secret_key_of_32_bytes(production):
    assert production("é" * 16).config["SECRET_KEY"] == "é" * 16  # 32 bytes in UTF-8


def test_development_and_test_keep_their_own_keys():
    for name in ("development", "test"):
        app = create_app(name, overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert app.config["SECRET_KEY"] == config.CONFIGS[name].SECRET_KEY


def test_demo_data_is_refused_in_production(production):
    app = production("x" * 64)
    with app.app_context():  # the command runs in the current app's context
        result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1
    assert "flask demo load does not run with the production configuration" in result.output


def test_every_sqlite_connection_uses_the_write_ahead_log_and_waits_for_the_lock(tmp_path):
    from sqlalchemy import text

    from portal.extensions import db

    app = create_app("test", overrides={
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'portal.sqlite3'}"})
    with app.app_context():
        with db.engine.connect() as first, db.engine.connect() as second:
            for connection in (first, second):
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
                assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert (tmp_path / "portal.sqlite3-wal").exists()
        db.engine.dispose()


def test_gunicorn_recycles_no_worker_unless_told_to(monkeypatch):
    import runpy

    conf = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    settings = runpy.run_path(str(conf))
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (0, 0)
    assert settings.get("preload_app", False) is False
    monkeypatch.setenv("GUNICORN_MAX_REQUESTS", "5000")
    settings = runpy.run_path(str(conf))
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (5000, 500)


@pytest.mark.parametrize("workers,hosts", [(3, 1), (1, 2), (9, 2)])
def test_production_refuses_per_process_limits_when_it_runs_in_several_processes(
        production, monkeypatch, workers, hosts):
    monkeypatch.setattr(config.ProductionConfig, "RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setattr(config.ProductionConfig, "PORTAL_WEB_PROCESSES", workers)
    monkeypatch.setattr(config.ProductionConfig, "PORTAL_HOSTS", hosts)
    with pytest.raises(config.ConfigError, match=rf"RATELIMIT_STORAGE_URI is memory://.*"
                                                 rf"runs in {workers * hosts} processes.*"
                                                 r"redis://"):
        production("x" * 64)


def test_production_takes_per_process_limits_in_one_process_and_a_shared_store_in_many(
        production, monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setattr(config.ProductionConfig, "PORTAL_WEB_PROCESSES", 1)
    monkeypatch.setattr(config.ProductionConfig, "PORTAL_HOSTS", 1)
    settings = dict(production("x" * 64).config)
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    # Flask-Limiter connects to its store at start: the settings alone, without one.
    settings.update(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", PORTAL_WEB_PROCESSES=5,
                    PORTAL_HOSTS=2)
    config.ProductionConfig.validate(settings)
