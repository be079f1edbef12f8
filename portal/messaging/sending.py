"""Sending a secure message: one use case, one transaction."""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..account.settings import current_settings
from ..audit.service import record_audit
from ..auth.service import normalise_email
from ..extensions import db
from ..models import (
    AccessEvidence,
    AuditCategory,
    Delivery,
    EvidenceKind,
    RecipientKind,
    SecureMessage,
    User,
    utcnow,
)
from ..notifications.outbox import queue_notification
from .tokens import new_link_token


@dataclass
class MessageDraft:
    to: list[str]
    subject: str
    body: str
    cc: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    allow_reply: bool = False
    allow_reply_all: bool = False
    allow_forward: bool = False
    allow_print: bool = False
    read_receipt: bool = False


class DraftError(ValueError):
    """The draft cannot be sent; `errors` maps a field name to its message."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _recipient_user(email, internal_domains):
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        # An external recipient's account exists from their first message;
        # they set a password when they register from the notification link.
        domain = email.rpartition("@")[2]
        user = User(email=email, is_internal=domain in internal_domains)
        db.session.add(user)
        db.session.flush()
    return user


def _unique_recipients(draft):
    seen, ordered = set(), []
    for kind, addresses in ((RecipientKind.TO, draft.to), (RecipientKind.CC, draft.cc)):
        for raw in addresses:
            email = normalise_email(raw)
            if email and email not in seen:
                seen.add(email)
                ordered.append((kind, email))
    return ordered


def send_message(sender, draft, *, request_info, now=None):
    """Save the message, a delivery per recipient, evidence, audit and outbox emails.

    Either all of it is committed or none of it. Returns the message and, per
    delivery, the personal link token (which exists nowhere else but the email).
    """
    now = now or utcnow()
    recipients = _unique_recipients(draft)
    errors = {}
    if not recipients:
        errors["to"] = "Enter at least one recipient."
    if not (draft.subject or "").strip():
        errors["subject"] = "Enter a subject."
    if draft.expires_at is not None and draft.expires_at <= now:
        errors["expires_at"] = "The expiry date must be in the future."
    if errors:
        raise DraftError(errors)

    settings = current_settings()
    message = SecureMessage(
        sender=sender, subject=draft.subject.strip(), body=draft.body, sent_at=now,
        expires_at=draft.expires_at, allow_reply=draft.allow_reply,
        allow_reply_all=draft.allow_reply_all, allow_forward=draft.allow_forward,
        allow_print=draft.allow_print, read_receipt=draft.read_receipt,
    )
    db.session.add(message)
    tokens = {}
    try:
        for position, (kind, email) in enumerate(recipients):
            token, token_hash = new_link_token()
            delivery = Delivery(message=message, kind=kind, position=position,
                                recipient=_recipient_user(email, settings.internal_domain_list),
                                link_token_hash=token_hash)
            db.session.add(delivery)
            db.session.flush()
            tokens[delivery.id] = token
            queue_notification(delivery, token, now=now)
            db.session.add(AccessEvidence(delivery=delivery, kind=EvidenceKind.NOTIFICATION_SENT,
                                          occurred_at=now, details={"to": email}))
        record_audit(AuditCategory.SECURE_MESSAGING, "Secure Messaging - Sent", actor=sender,
                     request_info=request_info, occurred_at=now,
                     details={"message_id": message.id, "subject": message.subject,
                              "recipients": [email for _, email in recipients],
                              "expires_at": message.expires_at.isoformat()
                              if message.expires_at else None,
                              "recipient_permissions": message.recipient_permissions})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return message, tokens
