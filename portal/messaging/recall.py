"""Recalling secure messages: final, audited, with read-before-recall per recipient."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audit.service import record_audit
from ..extensions import db
from ..models import (
    AuditCategory,
    Delivery,
    EvidenceKind,
    MessageStatus,
    RecallSource,
    SecureMessage,
    utcnow,
)

AUDIT_TYPES = {
    RecallSource.ADMIN: "Secure Messaging - Admin Recalled",
    RecallSource.SENDER: "Secure Messaging - Sender Recalled",
}


def _shown_before(delivery, moment):
    return any(e.kind is EvidenceKind.MESSAGE_VIEWED and e.occurred_at <= moment
               for e in delivery.evidence)


def sender_recall(sender, message_id, *, reason=None, request_info, now=None):
    """A sender recalls one of their own messages (in either edition).

    Returns `(message, recalled)`; `recalled` is False when it had already been
    recalled or had expired. Raises LookupError for a message that is not theirs.
    """
    owned = db.session.scalar(select(SecureMessage.id).where(
        SecureMessage.id == message_id, SecureMessage.sender_id == sender.id))
    if owned is None:
        raise LookupError(message_id)
    recalled, skipped = recall_messages(sender, [message_id], source=RecallSource.SENDER,
                                        reason=reason, request_info=request_info, now=now)
    return (recalled or skipped)[0], bool(recalled)


def recall_messages(actor, message_ids, *, source, reason=None, request_info, now=None):
    """Recall every listed message that is still `Sent`, in one transaction.

    Returns `(recalled, skipped)`: lists of messages. Already recalled and
    expired messages are skipped. Callers check that `actor` may recall
    these messages; a sender's ids must be scoped to their own messages.
    """
    now = now or utcnow()
    reason = (reason or "").strip()[:500] or None
    messages = db.session.scalars(
        select(SecureMessage).where(SecureMessage.id.in_(set(message_ids)))
        .options(selectinload(SecureMessage.deliveries).selectinload(Delivery.recipient),
                 selectinload(SecureMessage.deliveries).selectinload(Delivery.evidence))
        .order_by(SecureMessage.id)
        .with_for_update()
    ).all()
    recalled, skipped = [], []
    try:
        for message in messages:
            if message.status_at(now) is not MessageStatus.SENT:
                skipped.append(message)
                continue
            message.recalled_at = now
            message.recalled_by_id = actor.id
            message.recall_reason = reason
            message.recall_source = source
            record_audit(
                AuditCategory.SECURE_MESSAGING, AUDIT_TYPES[source], actor=actor,
                request_info=request_info, occurred_at=now,
                details={
                    "message_id": message.id,
                    "subject": message.subject,
                    "sender": message.sender.email,
                    "reason": reason,
                    "recipients": [
                        {"email": d.recipient.email, "recipient_status": d.recipient_status.value,
                         "read_before_recall": _shown_before(d, now)}
                        for d in message.deliveries
                    ],
                },
            )
            recalled.append(message)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return recalled, skipped
