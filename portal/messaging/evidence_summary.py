"""What Message Details' Status tab says about each recipient, from the evidence."""
from dataclasses import dataclass, field

from ..models import EvidenceKind, RecipientStatus

CHANNEL_LABELS = {"inbox": "Inbox", "direct_link": "Direct link"}
# Why a notification was cancelled (the notification_cancelled evidence's reason).
CANCEL_REASON_LABELS = {"recalled": "the secure message was recalled",
                        "expired": "the secure message had expired",
                        "content failed authentication":
                            "its content failed authentication (altered in the database)"}


@dataclass
class RecipientEvidence:
    delivery: object
    link_opens: list = field(default_factory=list)
    views: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    logons: list = field(default_factory=list)
    read_before_recall: bool | None = None
    notification_cancelled: object = None  # its evidence, when the notification never went

    @property
    def notification_cancel_reason(self):
        reason = self.notification_cancelled.details.get("reason", "")
        return CANCEL_REASON_LABELS.get(reason, reason)

    @property
    def disagreement(self):
        """A plain sentence where the status and the evidence disagree, else None."""
        if self.delivery.recipient_status is RecipientStatus.SENT and self.views:
            first = self.views[0]
            return (f"The status says Sent, but the message body was shown to this recipient "
                    f"via the {CHANNEL_LABELS[first.channel.value].lower()}")
        return None


def summarise(message, logons_by_user):
    """Per delivery of a message (objects, each with its evidence loaded)."""
    return [_summary(delivery, sorted(delivery.evidence, key=lambda e: (e.occurred_at, e.id)),
                     logons_by_user.get(delivery.recipient_id, []), message.recalled_at)
            for delivery in message.deliveries]


def summarise_details(details, logons_by_user):
    """The same from Message Details' rows (messaging.queries.MessageDetails): the
    deliveries and their evidence, oldest first, as columns."""
    evidence = {delivery.id: [] for delivery in details.deliveries}
    for row in details.evidence:
        evidence[row.delivery_id].append(row)
    return [_summary(delivery, evidence[delivery.id],
                     logons_by_user.get(delivery.recipient_id, []), details.message.recalled_at)
            for delivery in details.deliveries]


def _summary(delivery, evidence, logons, recalled_at):
    """`evidence`: the delivery's, oldest first."""
    summary = RecipientEvidence(
        delivery=delivery,
        link_opens=[e for e in evidence if e.kind is EvidenceKind.LINK_OPENED],
        views=[e for e in evidence if e.kind is EvidenceKind.MESSAGE_VIEWED],
        refusals=[e for e in evidence if e.kind is EvidenceKind.ACCESS_REFUSED],
        logons=logons,
        notification_cancelled=next((e for e in evidence
                                     if e.kind is EvidenceKind.NOTIFICATION_CANCELLED), None),
    )
    if recalled_at is not None:
        summary.read_before_recall = any(v.occurred_at <= recalled_at for v in summary.views)
    return summary
