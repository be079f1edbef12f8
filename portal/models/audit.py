"""Audit log entries: append-only, chained by a keyed hash."""
from ..extensions import db
from .types import JSONDocument, UTCDateTime, utcnow


class AuditCategory:
    SECURE_MESSAGING = "Secure Messaging Logs"
    AUTHENTICATION = "Authentication Logs"
    ACCOUNT = "Account Logs"


class AuditLogEntry(db.Model):
    __tablename__ = "audit_log_entries"
    __table_args__ = (
        db.Index("ix_audit_log_entries_occurred_at", "occurred_at"),
        db.Index("ix_audit_log_entries_category_type_occurred", "category", "type",
                 "occurred_at"),
        db.Index("ix_audit_log_entries_actor_occurred", "actor_id", "occurred_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    category = db.Column(db.String(64), nullable=False)
    type = db.Column(db.String(128), nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=True)
    # The address as it was at the time, so the entry reads the same later.
    actor_email = db.Column(db.String(254), nullable=True)
    occurred_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    ip = db.Column(db.String(45), nullable=True)
    user_agent = db.Column(db.String(512), nullable=True)
    details = db.Column(JSONDocument, nullable=False, default=dict)
    # Tamper evidence: HMAC over this entry's content and the previous hash.
    previous_hash = db.Column(db.String(64), nullable=True)
    entry_hash = db.Column(db.String(64), nullable=True)

    actor = db.relationship("User")
