"""The account settings row: read by every use case, seeded once from configuration."""
from flask import current_app

from ..extensions import db
from ..models import AccountSettings, Edition, ReadStatusMode


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


def current_settings():
    """The account settings; before they are first saved, the configured seed values."""
    return db.session.get(AccountSettings, AccountSettings.SINGLETON_ID) or _seeded_settings()


def ensure_account_settings():
    """Create the settings row from configuration if the database has none (caller commits)."""
    settings = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
    if settings is None:
        settings = _seeded_settings()
        db.session.add(settings)
        db.session.flush()
    return settings
