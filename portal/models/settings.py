"""The account's settings: one row, changed only by a Full Administrator."""
import enum

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow


class Edition(str, enum.Enum):
    FULL = "Full"
    LITE = "Lite"


class ReadStatusMode(str, enum.Enum):
    # A recipient is Read as soon as the body is shown, by any channel.
    CONTENT_VIEWED = "content_viewed"
    # Only selecting the message in the Inbox sets Read (the behaviour the
    # source document's comments report), kept so QA can reproduce it.
    INBOX_SELECTION = "inbox_selection"


class AccountSettings(db.Model):
    __tablename__ = "account_settings"
    SINGLETON_ID = 1

    id = db.Column(db.Integer, primary_key=True)
    edition = db.Column(enum_column(Edition, "edition"), nullable=False, default=Edition.FULL)
    read_status_mode = db.Column(enum_column(ReadStatusMode, "read_status_mode"), nullable=False,
                                 default=ReadStatusMode.CONTENT_VIEWED)
    time_zone = db.Column(db.String(64), nullable=False, default="UTC")
    # Addresses at these domains (comma-separated) belong to internal senders.
    internal_domains = db.Column(db.String(500), nullable=False, default="example.com")

    # The Secure Messaging definition: defaults offered on Compose.
    default_expiry_days = db.Column(db.Integer, nullable=True, default=30)
    allow_no_expiry = db.Column(db.Boolean, nullable=False, default=True)
    default_allow_reply = db.Column(db.Boolean, nullable=False, default=True)
    default_allow_reply_all = db.Column(db.Boolean, nullable=False, default=False)
    default_allow_forward = db.Column(db.Boolean, nullable=False, default=False)
    default_allow_print = db.Column(db.Boolean, nullable=False, default=True)
    default_read_receipt = db.Column(db.Boolean, nullable=False, default=False)

    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    @property
    def internal_domain_list(self):
        return [d.strip().lower() for d in self.internal_domains.split(",") if d.strip()]
