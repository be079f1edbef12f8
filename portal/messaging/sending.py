"""Sending a secure message: one use case, one transaction."""
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..audit.service import record_audit
from ..core.addresses import valid_address
from ..extensions import db
from ..models import (
    AccessEvidence,
    Audience,
    AuditCategory,
    Delivery,
    EvidenceKind,
    RecipientKind,
    SecureMessage,
    User,
    utcnow,
)
from ..notifications.outbox import queue_notification
from .expiry import LATEST_EXPIRY, LATEST_EXPIRY_MESSAGE
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


SUBJECT_MAX_CHARS = 255
# The subject goes into the notification's Subject header: a line break there
# would let a sender write headers of their own (and cannot be sent at all).
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators,
# which Python's email package also takes for line breaks.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_recipients(sender, draft, settings, errors):
    """The unique recipients in order (To, then Cc), or errors per field."""
    seen, ordered = set(), []
    internal_domains = settings.internal_domain_list
    for kind, field_name, addresses in ((RecipientKind.TO, "to", draft.to),
                                        (RecipientKind.CC, "cc", draft.cc)):
        problems = []
        for raw in addresses:
            email = valid_address(raw)
            if email is None:
                problems.append(f"{raw.strip()[:100]} is not a valid email address.")
                continue
            if email == sender.email:
                problems.append("You cannot send a secure message to yourself.")
                continue
            if email.rpartition("@")[2] in internal_domains:
                user = db.session.scalar(select(User).where(User.email == email))
                if user is None or user.audience is not Audience.SENDER:
                    problems.append(f"{email} is an internal address with no mailbox here.")
                    continue
            if email not in seen:  # duplicates, in To and Cc alike, are dropped
                seen.add(email)
                ordered.append((kind, email))
        if problems:
            errors[field_name] = " ".join(dict.fromkeys(problems))
    if not ordered and "to" not in errors:
        errors["to"] = "Enter at least one recipient."
    limit = current_app.config["MAX_RECIPIENTS"]
    if len(ordered) > limit:
        errors["to"] = f"Send to at most {limit} recipients (To and Cc together)."
    return ordered


def validate_draft(sender, draft, settings, now):
    """Every rule a draft must meet; returns the recipients or raises DraftError."""
    errors = {}
    recipients = _check_recipients(sender, draft, settings, errors)
    subject = (draft.subject or "").strip()
    if not subject:
        errors["subject"] = "Enter a subject."
    elif len(subject) > SUBJECT_MAX_CHARS:
        errors["subject"] = f"Keep the subject to {SUBJECT_MAX_CHARS} characters or fewer."
    elif CONTROL_CHARACTERS.search(subject):
        errors["subject"] = ("The subject cannot contain line breaks, tabs or other control "
                             "characters.")
    body_limit = current_app.config["MESSAGE_BODY_MAX_CHARS"]
    if not (draft.body or "").strip():
        errors["body"] = "Enter the message."
    elif len(draft.body) > body_limit:
        errors["body"] = (f"The message is too long: at most {body_limit:,} characters "
                          f"(this one has {len(draft.body):,}).")
    if draft.expires_at is None:
        if not settings.allow_no_expiry:
            errors["expires_at"] = "Choose an expiry date: every message must have one."
    elif draft.expires_at <= now:
        errors["expires_at"] = "The expiry date must be today or later."
    elif draft.expires_at > LATEST_EXPIRY:
        errors["expires_at"] = LATEST_EXPIRY_MESSAGE
    if errors:
        raise DraftError(errors)
    return recipients


def _recipient_user(email, settings):
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        # An external recipient's account exists from their first message;
        # they set a password when they register from the notification link.
        # Times are shown to them in the account's time zone until they choose.
        user = User(email=email, is_internal=False, time_zone=settings.time_zone)
        db.session.add(user)
        db.session.flush()
    return user


def queue_message(sender, draft, *, settings, request_info, now, audit_details=None):
    """Add the message and everything that goes with it to the caller's transaction.

    Returns the message and, per delivery id, the personal link token (which
    exists nowhere else but the notification email). Raises DraftError.
    """
    recipients = validate_draft(sender, draft, settings, now)
    message = SecureMessage(
        sender=sender, subject=draft.subject.strip(), body=draft.body, sent_at=now,
        expires_at=draft.expires_at, allow_reply=draft.allow_reply,
        allow_reply_all=draft.allow_reply_all, allow_forward=draft.allow_forward,
        allow_print=draft.allow_print, read_receipt=draft.read_receipt,
    )
    db.session.add(message)
    tokens = {}
    for position, (kind, email) in enumerate(recipients):
        token, token_hash = new_link_token()
        delivery = Delivery(message=message, kind=kind, position=position,
                            recipient=_recipient_user(email, settings),
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
                          "recipient_permissions": message.recipient_permissions,
                          **(audit_details or {})})
    return message, tokens


def send_message(sender, draft, *, settings, request_info, now=None):
    """Send a secure message: all of it is committed, or none of it."""
    try:
        message, tokens = queue_message(sender, draft, settings=settings, request_info=request_info,
                                        now=now or utcnow())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return message, tokens
