"""The data model. Import models from here so every table is registered."""
from .audit import AuditCategory, AuditChainHead, AuditLogEntry
from .evidence import AccessEvidence, EvidenceKind
from .message import (
    Delivery,
    MessageStatus,
    RecallSource,
    RecipientKind,
    RecipientStatus,
    SecureMessage,
    ViewChannel,
)
from .outbox import EmailKind, OutboxEmail, OutboxStatus
from .settings import AccountSettings, Edition, ReadStatusMode
from .sign_in_address import SignInAddress
from .types import utcnow
from .user import AdminRole, Audience, User, UserSession

__all__ = [
    "AccessEvidence", "AccountSettings", "AdminRole", "Audience", "AuditCategory",
    "AuditChainHead",
    "AuditLogEntry", "Delivery", "Edition", "EmailKind", "EvidenceKind", "MessageStatus",
    "OutboxEmail", "OutboxStatus", "ReadStatusMode", "RecallSource", "RecipientKind",
    "RecipientStatus", "SecureMessage", "SignInAddress", "User", "UserSession", "ViewChannel",
    "utcnow",
]
