"""The account settings row: read by every use case, seeded once from configuration,
changed only by a Full Administrator (audited)."""
import enum
import functools
from zoneinfo import available_timezones

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from .audit.service import record_audit
from .core.permissions import PERMISSION_NAMES
from .extensions import db
from .models import AccountSettings, AdminRole, AuditCategory, Edition, ReadStatusMode
from .models.sql import lock_rows


def _seeded_settings():
    return AccountSettings(
        id=AccountSettings.SINGLETON_ID,
        edition=Edition(current_app.config["SECURE_MESSAGING_EDITION"]),
        read_status_mode=ReadStatusMode(current_app.config["READ_STATUS_MODE"]),
        time_zone="UTC",
        internal_domains="example.com",
        default_expiry_days=30,
        allow_no_expiry=True,
        default_allow_reply=True,
        default_allow_reply_all=False,
        default_allow_forward=False,
        default_allow_print=True,
        default_read_receipt=False,
    )


# Read at most once per transaction (most pages need it): a statement built once costs
# a third less than Session.get, which builds its own on every call.
_SETTINGS = select(AccountSettings).where(AccountSettings.id == AccountSettings.SINGLETON_ID)
_SETTINGS_KEY = identity_key(AccountSettings, AccountSettings.SINGLETON_ID)


def current_settings():
    """The account settings; before they are first saved, the configured seed values."""
    settings = db.session.identity_map.get(_SETTINGS_KEY)  # read already, or just saved
    if settings is None:
        settings = db.session.scalars(_SETTINGS).first()
    return settings or _seeded_settings()


def ensure_account_settings():
    """Create the settings row from configuration if the database has none (caller commits)."""
    settings = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
    if settings is None:
        settings = _seeded_settings()
        db.session.add(settings)
        db.session.flush()
    return settings


# -- changing the settings (Full Administrator only) ------------------------------------

SETTINGS_CHANGED = "Account - Settings Changed"
EXPIRY_DAYS_MAX = 3650
TIME_ZONE_MAX_CHARS = 64

# The defaults Compose offers for each recipient permission.
DEFAULT_PERMISSION_NAMES = tuple(f"default_{name}" for name in PERMISSION_NAMES)
# Every setting a Full Administrator may change, in the order the page shows them.
CHANGEABLE = ("edition", "read_status_mode", "default_expiry_days", "allow_no_expiry",
              *DEFAULT_PERMISSION_NAMES, "time_zone")


class SettingsError(ValueError):
    """The changes cannot be saved; `errors` maps a setting's name to its message."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class _Invalid(Exception):
    """One value is wrong; carries the message shown beside its field."""


@functools.cache
def known_time_zones():
    """The IANA zone names this server knows (read once: the list is long and fixed)."""
    return frozenset(available_timezones())


def _choice(enum_cls, value, message):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        raise _Invalid(message) from None


def _expiry_days(value):
    message = f"Enter a whole number of days from 1 to {EXPIRY_DAYS_MAX}, or leave it blank."
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        value = value.strip()
        # Length first: int() refuses strings of thousands of digits with an error of its own.
        if not (value.isascii() and value.isdigit()) or len(value) > 8:
            raise _Invalid(message)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= EXPIRY_DAYS_MAX:
        raise _Invalid(message)
    return value


def _time_zone(value):
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name:
        raise _Invalid("Enter a time zone, for example Europe/London or UTC.")
    if len(name) > TIME_ZONE_MAX_CHARS or name not in known_time_zones():
        raise _Invalid(f"{name[:TIME_ZONE_MAX_CHARS]} is not a time zone name. "
                       "Use an IANA name such as Europe/London or UTC.")
    return name


def _flag(value):
    if not isinstance(value, bool):
        raise _Invalid("Choose yes or no.")
    return value


_CHECKS = {
    "edition": lambda v: _choice(Edition, v, "Choose Full or Lite."),
    "read_status_mode": lambda v: _choice(ReadStatusMode, v,
                                          "Choose content_viewed or inbox_selection."),
    "default_expiry_days": _expiry_days,
    "time_zone": _time_zone,
}


def validated_settings(changes):
    """The changes as the settings row holds them, or SettingsError naming each bad one."""
    values, errors = {}, {}
    for name, value in changes.items():
        if name not in CHANGEABLE:
            errors[name] = "This is not a setting that can be changed here."
            continue
        try:
            values[name] = _CHECKS.get(name, _flag)(value)
        except _Invalid as problem:
            errors[name] = str(problem)
    if errors:
        raise SettingsError(errors)
    return values


def _for_audit(value):
    return value.value if isinstance(value, enum.Enum) else value


def update_account_settings(actor, changes, request_info):
    """Apply `changes` ({setting: new value}) and audit those that differ, in one transaction.

    Returns {setting: {"old": ..., "new": ...}} for what changed; empty when
    nothing did, in which case nothing is written. Raises SettingsError (nothing
    saved) for bad values and PermissionError for anyone but a Full Administrator.
    The next request reads the new values: `current_settings` reads the row each time.
    """
    if not actor.has_admin_role(AdminRole.FULL):
        raise PermissionError("only a Full Administrator may change the account settings")
    values = validated_settings(changes)
    try:
        # Two admins saving at once: the second reads what the first saved, so
        # each audit entry's old values are the ones it really replaced.
        lock_rows(AccountSettings, [AccountSettings.SINGLETON_ID])
        settings = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID,
                                  populate_existing=True) or ensure_account_settings()
        changed = {}
        for name, new in values.items():
            old = getattr(settings, name)
            if old != new:
                changed[name] = {"old": _for_audit(old), "new": _for_audit(new)}
                setattr(settings, name, new)
        if changed:
            record_audit(AuditCategory.ACCOUNT, SETTINGS_CHANGED, actor=actor,
                         request_info=request_info, details={"changes": changed})
            db.session.commit()
        else:
            db.session.rollback()  # nothing to write; ends the lock
    except Exception:
        db.session.rollback()
        raise
    return changed
