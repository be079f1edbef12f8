"""Emails waiting to be delivered, and what became of them.

A notification carries the recipient's personal link, which opens
registration for an account with no password yet. So an email's text and
HTML are encrypted at rest like message bodies (models/body_encryption.py),
bound to the row's address and Message-ID: a ciphertext moved to another row,
or a row readdressed in the database, fails to decrypt and is never sent.
Once the SMTP server has the email (or it is cancelled) the content is
removed; what administrators need stays: recipient, subject, status, dates.
"""
import enum
import json

from sqlalchemy.orm import deferred

from ..extensions import db
from .body_encryption import key_ring
from .types import UTCDateTime, enum_column, utcnow


class EmailKind(str, enum.Enum):
    NOTIFICATION = "notification"
    READ_RECEIPT = "read_receipt"


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Never to be sent: its secure message was recalled or had expired first.
    CANCELLED = "cancelled"


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
    # Ciphertext under `content_key_id`; both None once the content is removed.
    text_body_ciphertext = deferred(db.Column("text_body", db.Text, nullable=True))
    html_body_ciphertext = deferred(db.Column("html_body", db.Text, nullable=True))
    content_key_id = db.Column(db.String(64), nullable=True)
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

    def content_purpose(self, part):
        # Bound to where the email goes and which email it is; json keeps the parts apart.
        return ("outbox_emails." + json.dumps([part, self.to_address, self.message_id_header])
                ).encode("utf-8")

    def _decrypted(self, part, stored):
        if stored is None:
            return None
        return key_ring().decrypt(self.content_key_id, stored, purpose=self.content_purpose(part),
                                  where=f"the {part} of outbox email {self.id}")

    def set_content(self, text_body, html_body=None):
        """Encrypt the email's text (and HTML); to_address and message_id_header come first."""
        if not self.to_address or not self.message_id_header:
            raise ValueError("an outbox email's content is bound to its address and Message-ID")
        ring = key_ring()
        self.content_key_id, self.text_body_ciphertext = ring.encrypt(
            text_body, purpose=self.content_purpose("text"))
        self.html_body_ciphertext = None if html_body is None else ring.encrypt(
            html_body, purpose=self.content_purpose("html"))[1]

    def remove_content(self):
        self.text_body_ciphertext = self.html_body_ciphertext = self.content_key_id = None

    @property
    def content_removed(self):
        return self.text_body_ciphertext is None

    @property
    def text_body(self):
        """The plain text, or "" once removed (the Dev mailbox lists such emails too)."""
        return self._decrypted("text", self.text_body_ciphertext) or ""

    @property
    def html_body(self):
        return self._decrypted("html", self.html_body_ciphertext)
