"""Read-status discrepancies: recipients whose status and access evidence disagree.

A delivery is listed when its recipient status is `Sent` although the message
body was shown to the recipient (MESSAGE_VIEWED evidence), for example
through the direct link in the `inbox_selection` read-status mode. This is
the SQL form of `RecipientEvidence.disagreement` (Message Details' Status
tab); each listed row is a RecipientEvidence, so both say the same thing.

One query serves the Account page, its CSV export and the `flask read-status
discrepancies` command.
"""
import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..core.day_range import day_window, parse_day
from ..core.pagination import page_number
from ..core.times import iso_utc
from ..extensions import db
from ..models import AccessEvidence, Delivery, EvidenceKind, RecipientStatus, SecureMessage
from .evidence_summary import RecipientEvidence

BATCH_SIZE = 500
SHOWN_EVIDENCE = (EvidenceKind.MESSAGE_VIEWED, EvidenceKind.LINK_OPENED)


@dataclass
class DiscrepancyFilter:
    """When the body was first shown: inclusive days in the viewer's time zone."""
    start: date | None = None
    end: date | None = None
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_values(cls, start, end, page=1, labels=("From date", "To date")):
        """Read the two days (either may be empty); problems are collected, never raised."""
        report_filter = cls(page=page)
        errors = report_filter.errors
        report_filter.start = parse_day((start or "").strip(), "start", labels[0], errors)
        report_filter.end = parse_day((end or "").strip(), "end", labels[1], errors)
        if report_filter.start and report_filter.end and report_filter.start > report_filter.end:
            errors["end"] = f"The {labels[1]} must be on or after the {labels[0]}."
        return report_filter

    @classmethod
    def from_args(cls, args):
        return cls.from_values(args.get("start"), args.get("end"), page=page_number(args))

    def as_args(self, **changes):
        """Query arguments for links that keep this filter."""
        values = {"start": self.start.isoformat() if self.start else "",
                  "end": self.end.isoformat() if self.end else "", "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items()
                if v not in ("", None) and not (k == "page" and v == 1)}

    def window(self, zone_name):
        """The UTC [start, end) of the days, either end open."""
        return day_window(self.start, self.end, zone_name)


def discrepancies(start=None, end=None):
    """The discrepancies whose body was first shown in the UTC [start, end), newest first.

    A select of (Delivery, first_shown_at), with each delivery's message,
    sender and recipient loaded alongside.
    """
    first_shown = (
        select(AccessEvidence.delivery_id,
               func.min(AccessEvidence.occurred_at).label("first_shown_at"))
        .where(AccessEvidence.kind == EvidenceKind.MESSAGE_VIEWED,
               AccessEvidence.delivery_id.is_not(None))
        .group_by(AccessEvidence.delivery_id)
        .subquery("first_shown")
    )
    conditions = [Delivery.recipient_status == RecipientStatus.SENT]
    if start is not None:
        conditions.append(first_shown.c.first_shown_at >= start)
    if end is not None:
        conditions.append(first_shown.c.first_shown_at < end)
    return (
        select(Delivery, first_shown.c.first_shown_at)
        .join(first_shown, first_shown.c.delivery_id == Delivery.id)
        .where(*conditions)
        .order_by(first_shown.c.first_shown_at.desc(), Delivery.id.desc())
        .options(joinedload(Delivery.message).joinedload(SecureMessage.sender),
                 joinedload(Delivery.recipient))
    )


def _with_evidence(deliveries):
    """Each delivery as a RecipientEvidence with its views and link opens, in one query."""
    by_delivery = {delivery.id: RecipientEvidence(delivery=delivery) for delivery in deliveries}
    if by_delivery:
        rows = db.session.scalars(
            select(AccessEvidence)
            .where(AccessEvidence.delivery_id.in_(list(by_delivery)),
                   AccessEvidence.kind.in_(SHOWN_EVIDENCE))
            .order_by(AccessEvidence.occurred_at, AccessEvidence.id))
        for row in rows:
            summary = by_delivery[row.delivery_id]
            if row.kind is EvidenceKind.MESSAGE_VIEWED:
                summary.views.append(row)
            else:
                summary.link_opens.append(row)
    return list(by_delivery.values())


@dataclass
class DiscrepancyPage:
    items: list  # RecipientEvidence, newest first
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def discrepancy_page(report_filter, zone_name, per_page):
    """One page of the report; a page past the last shows the last."""
    statement = discrepancies(*report_filter.window(zone_name))
    total = db.session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery()))
    page = min(report_filter.page, max((total + per_page - 1) // per_page, 1))
    report_filter.page = page
    deliveries = db.session.scalars(
        statement.limit(per_page).offset((page - 1) * per_page)).all()
    return DiscrepancyPage(items=_with_evidence(deliveries), total=total, page=page,
                           per_page=per_page)


def each_discrepancy(report_filter, zone_name, batch_size=BATCH_SIZE):
    """Every discrepancy of the filter, newest first, read from the database in batches."""
    result = db.session.execute(
        discrepancies(*report_filter.window(zone_name))
        .execution_options(yield_per=batch_size))
    for batch in result.partitions():
        yield from _with_evidence([row[0] for row in batch])


CSV_HEADER = [
    "Delivery ID", "Message ID", "Subject", "From", "Recipient", "Recipient status",
    "Message status", "Sent at (UTC)", "Body first shown (UTC)", "First shown via",
    "Views", "Link opens", "Suspected scanner opens", "Link opened at (UTC)",
]


def csv_row(item, now):
    """One discrepancy as the values of a CSV row, times in ISO 8601 UTC."""
    delivery, message = item.delivery, item.delivery.message
    first = item.views[0]
    return [
        delivery.id, message.id, message.subject, message.sender.email,
        delivery.recipient.email, delivery.recipient_status.value,
        message.status_at(now).value, iso_utc(message.sent_at), iso_utc(first.occurred_at),
        first.channel.value, len(item.views), len(item.link_opens),
        sum(1 for e in item.link_opens if e.suspected_scanner),
        "; ".join(iso_utc(e.occurred_at) + (" (suspected scanner)" if e.suspected_scanner
                                            else "") for e in item.link_opens),
    ]


def text_line(item, now):
    """One discrepancy as a line of text (the `flask read-status discrepancies` output)."""
    delivery, message, first = item.delivery, item.delivery.message, item.views[0]
    message_status = message.status_at(now).value
    scanners = sum(1 for e in item.link_opens if e.suspected_scanner)
    subject = json.dumps(message.subject, ensure_ascii=False)  # quoted, newlines escaped
    return (f"delivery {delivery.id} · message {message.id} · {subject}"
            f" · {message.sender.email} -> {delivery.recipient.email}"
            f" · status {delivery.recipient_status.value}"
            + (f" (message {message_status})" if message_status != "Sent" else "")
            + f" · body first shown {iso_utc(first.occurred_at)} via {first.channel.value}"
            f" · {len(item.views)} view(s) · {len(item.link_opens)} link open(s)"
            + (f", {scanners} by a suspected scanner" if scanners else ""))
