"""Showing a message to its recipient, and what that means for its status.

Status comes from access evidence: every view is recorded with its channel,
and the account's read-status mode decides which views make a recipient Read.
"""
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import (
    AccessEvidence,
    Delivery,
    EvidenceKind,
    MessageStatus,
    ReadStatusMode,
    RecipientStatus,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from ..models.sql import lock_and_refresh
from ..notifications.outbox import queue_read_receipt
from .tokens import link_token_hash

# What decides whether a message may still be shown, and what the recall notice says.
STATUS_COLUMNS = ("recalled_at", "expires_at", "recall_source", "recall_reason",
                  "recalled_by_id")


def counts_as_read(mode, channel):
    if mode is ReadStatusMode.INBOX_SELECTION:
        return channel is ViewChannel.INBOX
    return True


def delivery_for_link(token):
    """The delivery a notification-link token belongs to, or None."""
    if not token or len(token) > 128:
        return None
    return db.session.scalar(select(Delivery).where(
        Delivery.link_token_hash == link_token_hash(token)))


@dataclass
class MessageAccess:
    delivery: Delivery
    message: SecureMessage
    status: MessageStatus

    @property
    def shown(self):
        return self.status is MessageStatus.SENT


def open_message(recipient, delivery, channel, *, read_status_mode, request_info, now=None):
    """The recipient asks to see the message of `delivery` through `channel`.

    The status check and the evidence are one transaction with the message
    row locked, as a recall locks it: once a recall or the expiry has
    happened, no later request is shown the body, and a view that committed
    first is counted as read before the recall.
    Returns a MessageAccess; `shown` says whether the body may be displayed.
    """
    if delivery.recipient_id != recipient.id:
        raise PermissionError("a view counts only for the delivery's own recipient")
    message = delivery.message
    lock_and_refresh(message, STATUS_COLUMNS)
    now = now or utcnow()  # read after the lock: a recall that committed first is seen
    status = message.status_at(now)
    if status is not MessageStatus.SENT:
        db.session.add(AccessEvidence(
            delivery=delivery, user_id=recipient.id, kind=EvidenceKind.ACCESS_REFUSED,
            occurred_at=now, channel=channel, signed_in=True, ip=request_info.ip,
            user_agent=request_info.user_agent, details={"reason": status.value.lower()}))
        db.session.commit()
        return MessageAccess(delivery, message, status)
    record_view(recipient, delivery, channel, read_status_mode=read_status_mode,
                request_info=request_info, now=now)
    return MessageAccess(delivery, message, status)


def record_view(recipient, delivery, channel, *, read_status_mode, request_info, now=None):
    """The body of `delivery`'s message was shown to its recipient through `channel`.

    Always recorded as evidence. The recipient status moves Sent -> Read once,
    as the account's read-status mode says, and never back. The read receipt,
    where the sender asked for one, goes on the first view by any channel, in
    either mode. Commits.
    """
    if delivery.recipient_id != recipient.id:
        raise PermissionError("a view counts only for the delivery's own recipient")
    now = now or utcnow()
    message = delivery.message
    if message.read_receipt and delivery.read_receipt_sent_at is None:
        queue_read_receipt(delivery, now=now)
        delivery.read_receipt_sent_at = now
        db.session.add(AccessEvidence(delivery=delivery, kind=EvidenceKind.READ_RECEIPT_SENT,
                                      occurred_at=now, details={"to": message.sender.email}))
    db.session.add(AccessEvidence(
        delivery=delivery, user_id=recipient.id, kind=EvidenceKind.MESSAGE_VIEWED,
        occurred_at=now, channel=channel, signed_in=True, ip=request_info.ip,
        user_agent=request_info.user_agent,
    ))
    if (delivery.recipient_status is RecipientStatus.SENT
            and counts_as_read(read_status_mode, channel)):
        delivery.recipient_status = RecipientStatus.READ
        delivery.first_read_at = now
        delivery.first_read_channel = channel
    db.session.commit()
    return delivery


def _link_opened(delivery, *, signed_in, request_info, suspected_scanner, details, now):
    db.session.add(AccessEvidence(
        delivery=delivery, user_id=delivery.recipient_id if signed_in else None,
        kind=EvidenceKind.LINK_OPENED, occurred_at=now or utcnow(), signed_in=signed_in,
        ip=request_info.ip, user_agent=request_info.user_agent,
        suspected_scanner=suspected_scanner, details=details or {},
    ))


def record_link_opened(delivery, *, signed_in, request_info, suspected_scanner=False,
                       details=None, now=None):
    """The notification link was opened. Evidence only: opening is not reading. Commits."""
    _link_opened(delivery, signed_in=signed_in, request_info=request_info,
                 suspected_scanner=suspected_scanner, details=details, now=now)
    db.session.commit()


def open_message_from_link(recipient, delivery, *, read_status_mode, request_info,
                           suspected_scanner=False, now=None):
    """The signed-in recipient opens their notification link: the link's opening and
    the view (or the refusal) are recorded in one transaction. Returns a MessageAccess."""
    _link_opened(delivery, signed_in=True, request_info=request_info,
                 suspected_scanner=suspected_scanner, details=None, now=now)
    return open_message(recipient, delivery, ViewChannel.DIRECT_LINK,
                        read_status_mode=read_status_mode, request_info=request_info, now=now)
