"""People who use the portal and their signed-in sessions."""
import enum

from flask_login import UserMixin

from ..extensions import db
from .types import UTCDateTime, enum_column, utcnow


class AdminRole(str, enum.Enum):
    READ_ONLY = "read_only"
    BASIC = "basic"
    FULL = "full"

    @property
    def label(self):
        return {
            "read_only": "Read Only Administrator",
            "basic": "Basic Administrator",
            "full": "Full Administrator",
        }[self.value]

    @property
    def rank(self):
        return {"read_only": 1, "basic": 2, "full": 3}[self.value]


class Audience(str, enum.Enum):
    """Who a signed-in person is to the portal; decides navigation and home."""

    ADMIN = "admin"
    SENDER = "sender"
    RECIPIENT = "recipient"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # PostgreSQL: From and To searches match part of an address (ILIKE).
        db.Index("ix_users_email_trgm", "email", postgresql_using="gin",
                 postgresql_ops={"email": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id = db.Column(db.Integer, primary_key=True)
    # Stored lower-case: addresses are compared case-insensitively everywhere.
    email = db.Column(db.String(254), nullable=False, unique=True)
    display_name = db.Column(db.String(120), nullable=True)
    # None until an external recipient registers from a notification link.
    password_hash = db.Column(db.String(255), nullable=True)
    is_internal = db.Column(db.Boolean, nullable=False, default=False)
    admin_role = db.Column(
        enum_column(AdminRole, "admin_role", length=16),
        nullable=True,
    )
    time_zone = db.Column(db.String(64), nullable=False, default="UTC")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    registered_at = db.Column(UTCDateTime, nullable=True)
    password_changed_at = db.Column(UTCDateTime, nullable=True)

    sessions = db.relationship("UserSession", back_populates="user", lazy="dynamic")

    @property
    def is_registered(self):
        return self.password_hash is not None

    @property
    def audience(self):
        if self.admin_role is not None:
            return Audience.ADMIN
        if self.is_internal:
            return Audience.SENDER
        return Audience.RECIPIENT

    def has_admin_role(self, minimum):
        return self.admin_role is not None and self.admin_role.rank >= minimum.rank

    def __repr__(self):
        return f"<User {self.email}>"


class UserSession(db.Model):
    """A server-side record of one sign-in, so signing out really ends it.

    The browser's cookie holds a random token; only its hash is stored. A
    cookie replayed after sign-out names a session that has ended and is
    refused.
    """

    __tablename__ = "user_sessions"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    ended_at = db.Column(UTCDateTime, nullable=True)
    end_reason = db.Column(db.String(32), nullable=True)
    ip = db.Column(db.String(45), nullable=True)
    user_agent = db.Column(db.String(512), nullable=True)

    user = db.relationship("User", back_populates="sessions")

    @property
    def is_active(self):
        return self.ended_at is None
