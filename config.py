"""Configuration, driven by environment variables (a `.env` file may set them).

`PORTAL_CONFIG` picks the class: `production` (the default, for `wsgi.py` and the
`flask` command alike), `development` (only when asked for: `make run` does) or `test`.
"""
import os
from pathlib import Path
from typing import ClassVar

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


DEFAULT_CONFIG = "production"
GENERATE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"
MIN_SECRET_KEY_BYTES = 32
# A notification link is a bearer credential for an account with no password yet.
MAX_REGISTRATION_LINK_DAYS = 3650
# SECRET_KEY and AUDIT_HMAC_KEY values shown in the documentation or shipped for
# development and tests: whoever has read them could sign sessions or audit hashes.
# tests/unit/test_config.py checks that every `SECRET_KEY=` and `AUDIT_HMAC_KEY=`
# example in README.md and docs/ is one of them.
EXAMPLE_SECRET_KEYS = frozenset({
    "change-me", "changeme", "development-only-secret-key", "test-secret-key",
    f"<{GENERATE_SECRET_KEY}>", "<another such value>",
})


def _refuse_weak_key(name, value, protects):
    """A production key must be neither a documented example nor short."""
    if value.strip().lower() in EXAMPLE_SECRET_KEYS:
        raise ConfigError(
            f"{name} is an example value from the documentation, known to anyone "
            f"who has read it. Set it to the output of `{GENERATE_SECRET_KEY}`.")
    if len(value.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"{name} is shorter than {MIN_SECRET_KEY_BYTES} bytes: too short to keep "
            f"{protects} from being forged. Set it to the output of `{GENERATE_SECRET_KEY}`.")


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'portal.sqlite3'}"
    )
    # hide_parameters: statement values (bodies, tokens) never reach SQL logs or error text.
    # No pool_pre_ping: it costs a round trip per request; portal/models/connections.py
    # drops a connection PostgreSQL has closed without one.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"hide_parameters": True}
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
    # A notification link opens registration (choosing the first password) for
    # this many days after its message was sent, and never once it is recalled
    # or expired: the link is a bearer credential for an account with no password.
    REGISTRATION_LINK_DAYS = _env_int("REGISTRATION_LINK_DAYS", 30)

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

    # Throttling (Flask-Limiter; portal/web/throttling.py). Limits are strings such
    # as "5 per minute; 20 per hour". The per-account sign-in limit counts every
    # attempt at an email, whether or not the account exists, from addresses that
    # have never signed in to it; the per account and address limit counts every
    # attempt, so guessing from elsewhere cannot lock the person out.
    SIGN_IN_LIMIT_PER_ACCOUNT = os.environ.get("SIGN_IN_LIMIT_PER_ACCOUNT",
                                               "5 per minute; 20 per hour")
    SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP = os.environ.get("SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP",
                                                      "5 per minute; 20 per hour")
    SIGN_IN_LIMIT_PER_IP = os.environ.get("SIGN_IN_LIMIT_PER_IP", "30 per minute")
    CHANGE_PASSWORD_LIMIT_PER_ACCOUNT = os.environ.get("CHANGE_PASSWORD_LIMIT_PER_ACCOUNT",
                                                       "5 per minute; 20 per hour")
    CHANGE_PASSWORD_LIMIT_PER_IP = os.environ.get("CHANGE_PASSWORD_LIMIT_PER_IP",
                                                  "30 per minute")
    REGISTER_LIMIT = os.environ.get("REGISTER_LIMIT", "10 per minute")
    LINK_OPEN_LIMIT = os.environ.get("LINK_OPEN_LIMIT", "60 per minute")
    # memory:// counts per process. With several gunicorn workers or hosts, point
    # every process at one store: redis://host:6379/0 (the redis package is a
    # dependency) or memcached://host:11211 (pip install pymemcache). Production
    # refuses memory:// when it knows there are several: gunicorn.conf.py sets
    # PORTAL_WEB_PROCESSES to its worker count, the operator sets PORTAL_HOSTS.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    PORTAL_WEB_PROCESSES = _env_int("PORTAL_WEB_PROCESSES", 1)
    PORTAL_HOSTS = _env_int("PORTAL_HOSTS", 1)

    # Key of the audit log's hash chain. Kept out of the database, so an edit
    # made there cannot be given a valid hash. Defaults to one derived from
    # SECRET_KEY; set it separately to rotate SECRET_KEY without re-keying.
    AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY") or None
    # Checkpoints of the chain's end, kept outside the database so cutting off its
    # newest entries shows (portal/audit/checkpoint.py). When a path is set, a
    # checkpoint is appended every AUDIT_CHECKPOINT_EVERY entries; ship the file
    # elsewhere, and run `flask audit checkpoint` from cron for quiet periods.
    AUDIT_CHECKPOINT_PATH = os.environ.get("AUDIT_CHECKPOINT_PATH") or None
    AUDIT_CHECKPOINT_EVERY = _env_int("AUDIT_CHECKPOINT_EVERY", 1000)

    # Message bodies are encrypted at rest (AES-256-GCM). MESSAGE_KEYS holds every
    # key that may still be in use, `id:base64-of-32-bytes` separated by commas;
    # MESSAGE_KEY_ID names the one new bodies use. Keep an old key listed until
    # `flask messages re-encrypt` has moved every body off it.
    MESSAGE_KEYS = os.environ.get("MESSAGE_KEYS") or None
    MESSAGE_KEY_ID = os.environ.get("MESSAGE_KEY_ID") or None
    # Development and test add a key derived from SECRET_KEY, so they need no setup.
    MESSAGE_KEY_FROM_SECRET_KEY = False

    # Server-side sessions end after this long without a request (idle) and
    # this long after sign-in (absolute); administrators get shorter ones.
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
    SESSION_IDLE_MINUTES_ADMIN = _env_int("SESSION_IDLE_MINUTES_ADMIN", 15)
    SESSION_LIFETIME_HOURS = _env_int("SESSION_LIFETIME_HOURS", 12)
    SESSION_LIFETIME_HOURS_ADMIN = _env_int("SESSION_LIFETIME_HOURS_ADMIN", 8)
    # Reverse proxies in front of the portal whose X-Forwarded-For is trusted:
    # 0 when clients connect directly; 1 behind one nginx.
    TRUSTED_PROXY_HOPS = _env_int("TRUSTED_PROXY_HOPS", 0)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session does
    # Flask-WTF's HTTPS check wants a same-site Referer, but Referrer-Policy is
    # no-referrer (a message link must never leak), so browsers send none. The
    # session-bound CSRF token is the check; SameSite=Lax cookies back it up.
    WTF_CSRF_SSL_STRICT = False
    DEV_MAILBOX = False

    @classmethod
    def validate(cls, settings):
        if not settings.get("SECRET_KEY"):
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
                "(or put it in .env) to a long random value, for example the output of "
                f"`{GENERATE_SECRET_KEY}`."
            )
        from portal.models.body_encryption import BodyKeyError, KeyRing

        try:
            KeyRing.from_config(settings)
        except BodyKeyError as error:
            raise ConfigError(str(error)) from None
        if settings.get("SECURE_MESSAGING_EDITION") not in ("Full", "Lite"):
            raise ConfigError("SECURE_MESSAGING_EDITION must be Full or Lite.")
        if settings.get("READ_STATUS_MODE") not in ("content_viewed", "inbox_selection"):
            raise ConfigError("READ_STATUS_MODE must be content_viewed or inbox_selection.")
        days = settings.get("REGISTRATION_LINK_DAYS")
        if type(days) is not int or not 1 <= days <= MAX_REGISTRATION_LINK_DAYS:
            raise ConfigError(
                "REGISTRATION_LINK_DAYS must be a whole number of days from 1 to "
                f"{MAX_REGISTRATION_LINK_DAYS} (ten years); it is {days!r}.")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False
    SECRET_KEY = os.environ.get("SECRET_KEY") or "development-only-secret-key"
    MESSAGE_KEY_FROM_SECRET_KEY = True
    # With no MAIL_SERVER in development, email goes to the Dev mailbox page.
    DEV_MAILBOX = not os.environ.get("MAIL_SERVER")


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    MESSAGE_KEYS = None
    MESSAGE_KEY_ID = None
    MESSAGE_KEY_FROM_SECRET_KEY = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    SECURE_MESSAGING_EDITION = "Full"
    READ_STATUS_MODE = "content_viewed"
    BASE_URL = "http://portal.test"
    MAIL_SERVER = None
    DEV_MAILBOX = False
    # The rings sign in many times from one address; tests/http/test_throttling.py
    # sets low limits where it checks them.
    SIGN_IN_LIMIT_PER_ACCOUNT = SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP = "1000 per minute"
    SIGN_IN_LIMIT_PER_IP = "1000 per minute"
    CHANGE_PASSWORD_LIMIT_PER_ACCOUNT = CHANGE_PASSWORD_LIMIT_PER_IP = "1000 per minute"
    REGISTER_LIMIT = LINK_OPEN_LIMIT = "1000 per minute"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # __Host-: sent only over HTTPS, only to this host, path /; no subdomain can set it.
    SESSION_COOKIE_NAME = "__Host-session"
    HSTS_SECONDS = _env_int("HSTS_SECONDS", 31_536_000)

    @classmethod
    def validate(cls, settings):
        super().validate(settings)
        _refuse_weak_key("SECRET_KEY", settings["SECRET_KEY"], "sessions")
        if settings.get("AUDIT_HMAC_KEY"):  # unset: derived from SECRET_KEY, checked above
            _refuse_weak_key("AUDIT_HMAC_KEY", settings["AUDIT_HMAC_KEY"], "audit log hashes")
        _refuse_per_process_limits(settings)


def _refuse_per_process_limits(settings):
    """memory:// keeps each process's own counters: with several processes every one
    would allow the whole limit, and a guesser spread over them gets that many times
    the sign-in attempts, with nothing to show it."""
    if not settings.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://"):
        return
    workers, hosts = settings.get("PORTAL_WEB_PROCESSES", 1), settings.get("PORTAL_HOSTS", 1)
    if workers * hosts > 1:
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI is memory://, which counts sign-in attempts in each "
            f"process separately, and the portal runs in {workers * hosts} processes "
            f"({workers} gunicorn worker(s) on each of {hosts} host(s), PORTAL_HOSTS): "
            f"each would allow the full limit. Point RATELIMIT_STORAGE_URI at one store "
            f"they all share, such as redis://127.0.0.1:6379/0, or run one worker "
            f"(WEB_CONCURRENCY=1) on one host.")


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
