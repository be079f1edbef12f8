"""Access evidence: every event that touches a delivery, as it happened."""
import enum

from ..extensions import db
from .message import ViewChannel
from .types import JSONDocument, UTCDateTime, enum_column, utcnow


class EvidenceKind(str, enum.Enum):
    NOTIFICATION_SENT = "notification_sent"  # queued for the recipient, when sent
    # Never sent after all (recall, expiry): the notification_sent above it stays,
    # as it was true when written; this says what became of it.
    NOTIFICATION_CANCELLED = "notification_cancelled"
    LINK_OPENED = "link_opened"
    PORTAL_LOGON = "portal_logon"
    MESSAGE_VIEWED = "message_viewed"
    ACCESS_REFUSED = "access_refused"
    ATTACHMENT_DOWNLOADED = "attachment_downloaded"
    REPLY_SENT = "reply_sent"
    FORWARD_SENT = "forward_sent"
    READ_RECEIPT_SENT = "read_receipt_sent"


class AccessEvidence(db.Model):
    __tablename__ = "access_evidence"
    __table_args__ = (
        db.Index("ix_access_evidence_delivery_occurred", "delivery_id", "occurred_at"),
        db.Index("ix_access_evidence_user_occurred", "user_id", "occurred_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    # A portal logon touches the person, not one delivery: then delivery_id is
    # empty, or names the delivery whose link led to it.
    delivery_id = db.Column(db.Integer, db.ForeignKey("deliveries.id", ondelete="CASCADE"),
                            nullable=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=True)
    kind = db.Column(enum_column(EvidenceKind, "evidence_kind"), nullable=False)
    occurred_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    channel = db.Column(enum_column(ViewChannel, "evidence_channel"), nullable=True)
    signed_in = db.Column(db.Boolean, nullable=False, default=False)
    ip = db.Column(db.String(45), nullable=True)
    user_agent = db.Column(db.String(512), nullable=True)
    suspected_scanner = db.Column(db.Boolean, nullable=False, default=False)
    details = db.Column(JSONDocument, nullable=False, default=dict)

    delivery = db.relationship("Delivery", back_populates="evidence")
    user = db.relationship("User")
