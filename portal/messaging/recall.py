"""Recalling secure messages: final, audited, with read-before-recall per recipient.

A recall of many messages is one transaction of a few set-based statements
(lock, read evidence, update, insert audit entries), so ten thousand messages
recall in about the time of one: see benchmarks/ and the README's figures.
"""
from dataclasses import dataclass, field

from sqlalchemy import exists, or_, select, update

from ..account.settings import current_settings
from ..audit.service import AuditRecord, record_audit, record_audit_entries
from ..extensions import db
from ..models import (
    AccessEvidence,
    AdminRole,
    AuditCategory,
    Delivery,
    Edition,
    EvidenceKind,
    RecallSource,
    SecureMessage,
    User,
    utcnow,
)

AUDIT_TYPES = {
    RecallSource.ADMIN: "Secure Messaging - Admin Recalled",
    RecallSource.SENDER: "Secure Messaging - Sender Recalled",
}
REFUSED_TYPE = "Secure Messaging - Admin Recall Refused"
# Keeps every IN (...) list under SQLite's limit on bound parameters.
CHUNK = 5000
REASON_MAX = 500


class RecallRefused(Exception):
    """The actor may not recall (role or edition); the refusal has been audited."""


@dataclass
class RecallOutcome:
    recalled: list = field(default_factory=list)   # message ids, ascending
    skipped: dict = field(default_factory=dict)    # message id -> "recalled" | "expired"
    not_found: list = field(default_factory=list)

    @property
    def skipped_recalled(self):
        return sorted(i for i, why in self.skipped.items() if why == "recalled")

    @property
    def skipped_expired(self):
        return sorted(i for i, why in self.skipped.items() if why == "expired")


def _chunks(ids):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def recall_messages(actor, message_ids, *, source, reason=None, request_info, now=None):
    """Recall every listed message that is still `Sent`, in one transaction.

    Already recalled and expired messages are skipped and reported. The caller
    has checked that `actor` may recall these messages (see `sender_recall`
    and `admin_recall`). Returns a RecallOutcome.
    """
    now = now or utcnow()
    reason = (reason or "").strip()[:REASON_MAX] or None
    ids = sorted({int(i) for i in message_ids})
    outcome = RecallOutcome()
    try:
        found = {}
        for chunk in _chunks(ids):
            rows = db.session.execute(
                select(SecureMessage.id, SecureMessage.subject, SecureMessage.recalled_at,
                       SecureMessage.expires_at, User.email)
                .join(User, User.id == SecureMessage.sender_id)
                .where(SecureMessage.id.in_(chunk))
                .order_by(SecureMessage.id)
                .with_for_update(of=SecureMessage)
            ).all()
            found.update({row.id: row for row in rows})
        for message_id in ids:
            row = found.get(message_id)
            if row is None:
                outcome.not_found.append(message_id)
            elif row.recalled_at is not None:
                outcome.skipped[message_id] = "recalled"
            elif row.expires_at is not None and row.expires_at <= now:
                outcome.skipped[message_id] = "expired"
            else:
                outcome.recalled.append(message_id)

        recipients = {message_id: [] for message_id in outcome.recalled}
        shown = exists().where(AccessEvidence.delivery_id == Delivery.id,
                               AccessEvidence.kind == EvidenceKind.MESSAGE_VIEWED,
                               AccessEvidence.occurred_at <= now)
        for chunk in _chunks(outcome.recalled):
            for row in db.session.execute(
                select(Delivery.message_id, User.email, Delivery.recipient_status,
                       shown.label("read_before_recall"))
                .join(User, User.id == Delivery.recipient_id)
                .where(Delivery.message_id.in_(chunk))
                .order_by(Delivery.message_id, Delivery.position)
            ):
                recipients[row.message_id].append({
                    "email": row.email, "recipient_status": row.recipient_status.value,
                    "read_before_recall": bool(row.read_before_recall)})
            db.session.execute(
                update(SecureMessage)
                .where(SecureMessage.id.in_(chunk), SecureMessage.recalled_at.is_(None),
                       or_(SecureMessage.expires_at.is_(None), SecureMessage.expires_at > now))
                .values(recalled_at=now, recalled_by_id=actor.id, recall_reason=reason,
                        recall_source=source)
                .execution_options(synchronize_session=False)
            )
        record_audit_entries([
            AuditRecord(
                category=AuditCategory.SECURE_MESSAGING, type=AUDIT_TYPES[source],
                details={"message_id": message_id, "subject": found[message_id].subject,
                         "sender": found[message_id].email, "source": source.value,
                         "reason": reason, "recipients": recipients[message_id]})
            for message_id in outcome.recalled
        ], actor=actor, request_info=request_info, occurred_at=now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()  # objects loaded earlier see the recall
    return outcome


def sender_recall(sender, message_id, *, reason=None, request_info, now=None):
    """A sender recalls one of their own messages (in either edition).

    Returns the RecallOutcome. Raises LookupError for a message that is not theirs.
    """
    owned = db.session.scalar(select(SecureMessage.id).where(
        SecureMessage.id == message_id, SecureMessage.sender_id == sender.id))
    if owned is None:
        raise LookupError(message_id)
    return recall_messages(sender, [message_id], source=RecallSource.SENDER, reason=reason,
                           request_info=request_info, now=now)


def admin_recall(admin, message_ids, *, reason=None, request_info, now=None):
    """An administrator recalls messages in bulk: Basic or Full, and never in Lite.

    A refusal is audited and raised as RecallRefused.
    """
    refusal = None
    if not admin.has_admin_role(AdminRole.BASIC):
        refusal = ("role", "Recalling messages needs the Basic Administrator role or above.")
    elif current_settings().edition is Edition.LITE:
        refusal = ("edition", "Admin recall is not available in the Lite edition. "
                              "Senders can still recall their own messages.")
    if refusal:
        record_audit(AuditCategory.SECURE_MESSAGING, REFUSED_TYPE, actor=admin,
                     request_info=request_info,
                     details={"why": refusal[0],
                              "message_ids": sorted({int(i) for i in message_ids})[:1000]})
        db.session.commit()
        raise RecallRefused(refusal[1])
    return recall_messages(admin, message_ids, source=RecallSource.ADMIN, reason=reason,
                           request_info=request_info, now=now)


