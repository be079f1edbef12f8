"""Configuration, driven by environment variables (a `.env` file may set them).

`PORTAL_CONFIG` picks the class: `development` (what `make run` uses),
`production` (what `wsgi.py` uses unless told otherwise) or `test`.
"""
import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class ConfigError(RuntimeError):
    """Raised when the portal is asked to start with settings it cannot run on."""


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'portal.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "secure-messaging@example.com")

    # Seed values for the account settings of a new database; afterwards the
    # account settings (changed by a Full Administrator) are what counts.
    SECURE_MESSAGING_EDITION = os.environ.get("SECURE_MESSAGING_EDITION", "Full")
    READ_STATUS_MODE = os.environ.get("READ_STATUS_MODE", "content_viewed")

    # Compose limits.
    MESSAGE_BODY_MAX_CHARS = _env_int("MESSAGE_BODY_MAX_CHARS", 100_000)
    MAX_RECIPIENTS = _env_int("MAX_RECIPIENTS", 50)

    # Outbox delivery: polling, retry backoff (doubling, capped), how long a
    # worker may hold an email before another may take it back.
    OUTBOX_POLL_SECONDS = 2.0
    OUTBOX_BATCH_SIZE = 20
    OUTBOX_RETRY_BASE_SECONDS = 30
    OUTBOX_RETRY_MAX_SECONDS = 1800
    OUTBOX_MAX_ATTEMPTS = 50
    OUTBOX_LEASE_SECONDS = 300
    MAIL_TIMEOUT_SECONDS = 30

    # werkzeug's default (scrypt) in production; tests choose a cheaper one.
    PASSWORD_HASH_METHOD = "scrypt"
    PAGE_SIZE = 25

    # Key of the audit log's hash chain. Kept out of the database, so an edit
    # made there cannot be given a valid hash. Defaults to one derived from
    # SECRET_KEY; set it separately to rotate SECRET_KEY without re-keying.
    AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY") or None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session does
    DEV_MAILBOX = False

    @classmethod
    def validate(cls, settings):
        if not settings.get("SECRET_KEY"):
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
                "(or put it in .env) to a long random value, for example the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        if settings.get("SECURE_MESSAGING_EDITION") not in ("Full", "Lite"):
            raise ConfigError("SECURE_MESSAGING_EDITION must be Full or Lite.")
        if settings.get("READ_STATUS_MODE") not in ("content_viewed", "inbox_selection"):
            raise ConfigError("READ_STATUS_MODE must be content_viewed or inbox_selection.")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False
    SECRET_KEY = os.environ.get("SECRET_KEY") or "development-only-secret-key"
    # With no MAIL_SERVER in development, email goes to the Dev mailbox page.
    DEV_MAILBOX = not os.environ.get("MAIL_SERVER")


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    SECURE_MESSAGING_EDITION = "Full"
    READ_STATUS_MODE = "content_viewed"
    BASE_URL = "http://portal.test"
    MAIL_SERVER = None
    DEV_MAILBOX = False


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_by_name(name):
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"PORTAL_CONFIG={name!r} is not one of: {', '.join(CONFIGS)}."
        ) from None
