"""Recording that a message's body was shown, and what that means for its status."""
from ..account.settings import current_settings
from ..extensions import db
from ..models import (
    AccessEvidence,
    EvidenceKind,
    ReadStatusMode,
    RecipientStatus,
    ViewChannel,
    utcnow,
)
from ..notifications.outbox import queue_read_receipt


def counts_as_read(mode, channel):
    if mode is ReadStatusMode.INBOX_SELECTION:
        return channel is ViewChannel.INBOX
    return True


def record_view(recipient, delivery, channel, *, request_info, now=None):
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
    mode = current_settings().read_status_mode
    if delivery.recipient_status is RecipientStatus.SENT and counts_as_read(mode, channel):
        delivery.recipient_status = RecipientStatus.READ
        delivery.first_read_at = now
        delivery.first_read_channel = channel
    db.session.commit()
    return delivery


def record_link_opened(delivery, *, signed_in, request_info, suspected_scanner=False, now=None):
    """The notification link was opened. Evidence only: opening is not reading. Commits."""
    db.session.add(AccessEvidence(
        delivery=delivery, user_id=delivery.recipient_id if signed_in else None,
        kind=EvidenceKind.LINK_OPENED, occurred_at=now or utcnow(), signed_in=signed_in,
        ip=request_info.ip, user_agent=request_info.user_agent,
        suspected_scanner=suspected_scanner,
    ))
    db.session.commit()
