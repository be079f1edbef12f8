"""Recalling secure messages: final, audited, with read-before-recall per recipient.

A recall of many messages is one transaction of five set-based statements
(lock and read state, read evidence, update, cancel the notifications not
yet handed to the SMTP server, insert audit entries), whatever the number of
messages: see benchmarks/ and the README's figures.
"""
from dataclasses import dataclass, field

from sqlalchemy import String, case, exists, select, type_coerce, update

from ..audit.service import record_audit, record_audit_entries
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
from ..models.sql import in_id_list, lock_rows
from ..notifications.outbox import cancel_notifications

AUDIT_TYPES = {
    RecallSource.ADMIN: "Secure Messaging - Admin Recalled",
    RecallSource.SENDER: "Secure Messaging - Sender Recalled",
}
REFUSED_TYPE = "Secure Messaging - Admin Recall Refused"
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


def recall_messages(actor, message_ids, *, source, reason=None, request_info, now=None):
    """Recall every listed message that is still `Sent`, in one transaction.

    Already recalled and expired messages are skipped and reported. The caller
    has checked that `actor` may recall these messages (see `sender_recall`
    and `admin_recall`). Returns a RecallOutcome.
    """
    reason = (reason or "").strip()[:REASON_MAX] or None
    ids = sorted({int(i) for i in message_ids})
    outcome = RecallOutcome()
    try:
        # Lock first, then read the clock: a view that committed while we
        # waited for the lock happened before this recall, and is dated so.
        lock_rows(SecureMessage, ids)
        now = now or utcnow()
        state = case((SecureMessage.recalled_at.is_not(None), "recalled"),
                     (SecureMessage.expires_at <= now, "expired"), else_="sent")
        rows = db.session.execute(
            select(SecureMessage.id, SecureMessage.subject, User.email, state.label("state"))
            .join(User, User.id == SecureMessage.sender_id)
            .where(in_id_list(SecureMessage.id, ids))
        ).all()
        found = {row.id: row for row in rows}
        for message_id in ids:
            row = found.get(message_id)
            if row is None:
                outcome.not_found.append(message_id)
            elif row.state != "sent":
                outcome.skipped[message_id] = row.state
            else:
                outcome.recalled.append(message_id)
        if outcome.recalled:
            recipients = {message_id: [] for message_id in outcome.recalled}
            shown = exists().where(AccessEvidence.delivery_id == Delivery.id,
                                   AccessEvidence.kind == EvidenceKind.MESSAGE_VIEWED,
                                   AccessEvidence.occurred_at <= now)
            for message_id, email, status, read in db.session.execute(
                select(Delivery.message_id, User.email,
                       type_coerce(Delivery.recipient_status, String), shown)
                .join(User, User.id == Delivery.recipient_id)
                .where(in_id_list(Delivery.message_id, outcome.recalled))
                .order_by(Delivery.message_id, Delivery.position)
            ):
                recipients[message_id].append({"email": email, "recipient_status": status,
                                               "read_before_recall": bool(read)})
            db.session.execute(
                update(SecureMessage)
                .where(in_id_list(SecureMessage.id, outcome.recalled))
                .values(recalled_at=now, recalled_by_id=actor.id, recall_reason=reason,
                        recall_source=source)
                .execution_options(synchronize_session=False)
            )
            # A notification still waiting would deliver the subject (and a link
            # that leads nowhere now): cancel it in this same transaction.
            cancel_notifications(outcome.recalled, now=now)
            record_audit_entries(
                AuditCategory.SECURE_MESSAGING, AUDIT_TYPES[source],
                [{"message_id": message_id, "subject": found[message_id].subject,
                  "sender": found[message_id].email, "source": source.value, "reason": reason,
                  "recipients": recipients[message_id]} for message_id in outcome.recalled],
                actor=actor, request_info=request_info, occurred_at=now)
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


def admin_recall(admin, message_ids, *, edition, reason=None, request_info, now=None):
    """An administrator recalls messages in bulk: Basic or Full, and never in Lite.

    A refusal is audited and raised as RecallRefused.
    """
    refusal = None
    if not admin.has_admin_role(AdminRole.BASIC):
        refusal = ("role", "Recalling messages needs the Basic Administrator role or above.")
    elif edition is Edition.LITE:
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


