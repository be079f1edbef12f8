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
    # Tamper evidence: entries form a chain in `chain_seq` order; each carries
    # an HMAC over its content and the previous entry's hash (see audit/chain.py).
    chain_seq = db.Column(db.BigInteger, nullable=False, unique=True)
    previous_hash = db.Column(db.String(64), nullable=False)
    entry_hash = db.Column(db.String(64), nullable=False)

    actor = db.relationship("User")


class AuditChainHead(db.Model):
    """The end of the audit chain: one row, locked by every transaction that
    appends, so concurrent writers line up instead of forking the chain.

    The row is sealed with the audit key (a checkpoint record, see
    audit/checkpoint.py), so a head made up to hide deleted entries needs the key.
    Putting back an older genuine head (from a backup, or any copy of a seal)
    does not: only a checkpoint kept outside the database, taken later, shows that.
    """

    __tablename__ = "audit_chain_head"
    SINGLETON_ID = 1

    id = db.Column(db.Integer, primary_key=True)
    last_seq = db.Column(db.BigInteger, nullable=False, default=0)
    last_hash = db.Column(db.String(64), nullable=False)
    sealed_at = db.Column(UTCDateTime, nullable=False)
    key_id = db.Column(db.String(16), nullable=False)
    seal = db.Column(db.String(64), nullable=False)
