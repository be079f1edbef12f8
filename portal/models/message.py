"""Secure messages and their deliveries (one per To/Cc recipient)."""
import enum

from sqlalchemy.orm import deferred

from ..core.permissions import PERMISSION_NAMES
from ..extensions import db
from .body_encryption import key_ring
from .types import UTCDateTime, enum_column, utcnow


class MessageStatus(str, enum.Enum):
    SENT = "Sent"
    RECALLED = "Recalled"
    EXPIRED = "Expired"


class RecallSource(str, enum.Enum):
    SENDER = "sender"
    ADMIN = "admin"


class RecipientKind(str, enum.Enum):
    TO = "to"
    CC = "cc"


class RecipientStatus(str, enum.Enum):
    SENT = "Sent"
    READ = "Read"


class ViewChannel(str, enum.Enum):
    INBOX = "inbox"
    DIRECT_LINK = "direct_link"


def summarise_recipients(addresses):
    """One address, or `first@domain and N other(s)` (To and Cc together)."""
    if not addresses:
        return ""
    if len(addresses) == 1:
        return addresses[0]
    return f"{addresses[0]} and {len(addresses) - 1} other(s)"


class SecureMessage(db.Model):
    __tablename__ = "secure_messages"
    __table_args__ = (
        db.Index("ix_secure_messages_sent_at", "sent_at"),
        # Sent: a sender's messages newest first, ties by id, read in order (0011).
        db.Index("ix_secure_messages_sender_sent_at_id", "sender_id", "sent_at", "id"),
        # Subject search is a partial match within a time range: this index
        # holds both, so the search reads the index and not the table.
        db.Index("ix_secure_messages_sent_at_subject", "sent_at", "subject"),
        # PostgreSQL: a trigram index answers ILIKE '%text%' without a scan.
        db.Index("ix_secure_messages_subject_trgm", "subject", postgresql_using="gin",
                 postgresql_ops={"subject": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        # Key rotation looks for the bodies not yet under the current key.
        db.Index("ix_secure_messages_body_key_id", "body_key_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    sender_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    subject = db.Column(db.String(255), nullable=False)
    # Encrypted at rest (models/body_encryption.py); `body` reads and takes plaintext.
    # Deferred: lists, searches and Message Details never fetch it; a view loads it alone.
    body_ciphertext = deferred(db.Column("body", db.Text, nullable=False))
    body_key_id = db.Column(db.String(64), nullable=False)
    sent_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=True)

    # Recipient permissions, chosen by the sender.
    allow_reply = db.Column(db.Boolean, nullable=False, default=False)
    allow_reply_all = db.Column(db.Boolean, nullable=False, default=False)
    allow_forward = db.Column(db.Boolean, nullable=False, default=False)
    allow_print = db.Column(db.Boolean, nullable=False, default=False)
    read_receipt = db.Column(db.Boolean, nullable=False, default=False)

    # Recall is final: once set these never change.
    recalled_at = db.Column(UTCDateTime, nullable=True)
    recalled_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=True)
    recall_reason = db.Column(db.String(500), nullable=True)
    recall_source = db.Column(enum_column(RecallSource, "recall_source"), nullable=True)

    sender = db.relationship("User", foreign_keys=[sender_id])
    recalled_by = db.relationship("User", foreign_keys=[recalled_by_id])
    deliveries = db.relationship(
        "Delivery", back_populates="message", order_by="Delivery.position",
        cascade="all, delete-orphan",
    )

    @property
    def body(self):
        if self.body_ciphertext is None:
            return None
        return key_ring().decrypt(self.body_key_id, self.body_ciphertext,
                                  where=f"the body of secure message {self.id}")

    @body.setter
    def body(self, plaintext):
        self.body_key_id, self.body_ciphertext = key_ring().encrypt(plaintext)

    def status_at(self, now):
        if self.recalled_at is not None:
            return MessageStatus.RECALLED
        if self.expires_at is not None and self.expires_at <= now:
            return MessageStatus.EXPIRED
        return MessageStatus.SENT

    @property
    def status(self):
        return self.status_at(utcnow())

    @property
    def recipient_permissions(self):
        return {name: getattr(self, name) for name in PERMISSION_NAMES}

    @property
    def to_summary(self):
        return summarise_recipients([d.recipient.email for d in self.deliveries])

    def __repr__(self):
        return f"<SecureMessage {self.id} {self.subject!r}>"


class Delivery(db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (
        db.UniqueConstraint("message_id", "recipient_id", name="uq_deliveries_message_recipient"),
        # A recipient's Inbox page, total and unread count read this index alone (0011).
        db.Index("ix_deliveries_recipient_message_status", "recipient_id", "message_id",
                 "recipient_status", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.Integer, db.ForeignKey("secure_messages.id", ondelete="CASCADE"),
                           nullable=False)
    recipient_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    kind = db.Column(enum_column(RecipientKind, "recipient_kind"), nullable=False,
                     default=RecipientKind.TO)
    # Order in which the sender listed the recipient (To first, then Cc).
    position = db.Column(db.Integer, nullable=False, default=0)
    recipient_status = db.Column(enum_column(RecipientStatus, "recipient_status"), nullable=False,
                                 default=RecipientStatus.SENT)
    first_read_at = db.Column(UTCDateTime, nullable=True)
    first_read_channel = db.Column(enum_column(ViewChannel, "view_channel"), nullable=True)
    read_receipt_sent_at = db.Column(UTCDateTime, nullable=True)
    # SHA-256 of the personal notification-link token; the token itself is
    # only ever in the notification email.
    link_token_hash = db.Column(db.String(64), nullable=False, unique=True)

    message = db.relationship("SecureMessage", back_populates="deliveries")
    recipient = db.relationship("User")
    evidence = db.relationship("AccessEvidence", back_populates="delivery",
                               order_by="AccessEvidence.occurred_at",
                               cascade="all, delete-orphan")

    @property
    def is_read(self):
        return self.recipient_status == RecipientStatus.READ
