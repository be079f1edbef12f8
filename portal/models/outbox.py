"""Emails waiting to be delivered, and what became of them."""
import enum

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow


class EmailKind(str, enum.Enum):
    NOTIFICATION = "notification"
    READ_RECEIPT = "read_receipt"


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"
    __table_args__ = (
        db.Index("ix_outbox_emails_status_next_attempt", "status", "next_attempt_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(enum_column(EmailKind, "email_kind"), nullable=False)
    delivery_id = db.Column(db.Integer, db.ForeignKey("deliveries.id", ondelete="SET NULL"),
                            nullable=True, index=True)
    to_address = db.Column(db.String(254), nullable=False)
    subject = db.Column(db.String(255), nullable=False)
    text_body = db.Column(db.Text, nullable=False)
    html_body = db.Column(db.Text, nullable=True)
    # The Message-ID header, fixed when queued, so a resend after a crash is
    # recognisable as the same email.
    message_id_header = db.Column(db.String(255), nullable=False, unique=True)
    status = db.Column(enum_column(OutboxStatus, "outbox_status"), nullable=False,
                       default=OutboxStatus.PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    locked_at = db.Column(UTCDateTime, nullable=True)
    locked_by = db.Column(db.String(128), nullable=True)
    # Set just before the final step of the SMTP conversation. A worker that
    # stops after this point may have delivered the email, so it is not sent
    # again: a duplicate is worse than asking the sender to check.
    handed_over_at = db.Column(UTCDateTime, nullable=True)
    sent_at = db.Column(UTCDateTime, nullable=True)
    last_error = db.Column(db.String(1000), nullable=True)
