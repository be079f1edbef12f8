"""Read-only queries that list secure messages for each audience.

Every query is scoped to what its audience may see: a sender's to their own
messages, a mailbox holder's to their own deliveries. Each list reads an index
on PostgreSQL and SQLite alike at any size (benchmarks/reader_scale.py shows
the plans on a million messages).
"""
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..extensions import db
from ..models import (
    AccessEvidence,
    Delivery,
    EvidenceKind,
    RecipientStatus,
    SecureMessage,
    utcnow,
)


def _with_people(query):
    return query.options(
        joinedload(SecureMessage.sender),
        selectinload(SecureMessage.deliveries).joinedload(Delivery.recipient),
    )


class _ListPage(Pagination):
    """Flask-SQLAlchemy's page of a list, from `items(limit, offset)` and `total`, a
    plain count over the table the list filters. (`db.paginate` counts by wrapping
    the whole list query, joins and columns, in a subquery.)"""

    def _query_items(self):
        return self._query_args["items"](self.per_page, self._query_offset)

    def _query_count(self):
        return db.session.scalar(self._query_args["total"])


def messages_sent_by(sender, page, per_page):
    """The sender's messages, newest first, read in order from
    ix_secure_messages_sender_sent_at_id."""
    mine = SecureMessage.sender_id == sender.id
    query = _with_people(
        select(SecureMessage).where(mine)
        .order_by(SecureMessage.sent_at.desc(), SecureMessage.id.desc())
    )
    return _ListPage(
        items=lambda limit, offset: db.session.scalars(
            query.limit(limit).offset(offset)).unique().all(),
        total=select(func.count()).select_from(SecureMessage).where(mine),
        page=page, per_page=per_page, error_out=False)


def inbox_of(recipient, page, per_page):
    """The recipient's deliveries, newest message first."""
    mine = Delivery.recipient_id == recipient.id
    newest_first = (SecureMessage.sent_at.desc(), Delivery.id.desc())

    def items(limit, offset):
        # The recipient's deliveries with their messages' sent_at first, as a fence
        # (MATERIALIZED): read from the recipient's index entries, sorted, and only the
        # page's rows loaded whole. Without it, PostgreSQL may choose to walk every
        # message newest first looking for the recipient's, as soon as its estimate of
        # their number tips over (a million messages: seconds, not milliseconds).
        dated = (select(Delivery.id, SecureMessage.sent_at).join(Delivery.message).where(mine)
                 .cte("recipient_deliveries").prefix_with("MATERIALIZED"))
        page_ids = (select(dated.c.id).order_by(dated.c.sent_at.desc(), dated.c.id.desc())
                    .limit(limit).offset(offset))
        return db.session.scalars(
            select(Delivery).join(Delivery.message).where(Delivery.id.in_(page_ids))
            .options(contains_eager(Delivery.message).joinedload(SecureMessage.sender))
            .order_by(*newest_first)).unique().all()

    # Every delivery has its message (a required foreign key): no join to count them.
    return _ListPage(items=items, total=select(func.count()).select_from(Delivery).where(mine),
                     page=page, per_page=per_page, error_out=False)


def unread_count(recipient, now=None):
    """Unread messages the recipient can still open (recalled and expired ones are greyed)."""
    now = now or utcnow()
    return db.session.scalar(
        select(func.count()).select_from(Delivery).join(Delivery.message)
        .where(Delivery.recipient_id == recipient.id,
               Delivery.recipient_status == RecipientStatus.SENT,
               SecureMessage.recalled_at.is_(None),
               or_(SecureMessage.expires_at.is_(None), SecureMessage.expires_at > now))
    )


def delivery_of(recipient, delivery_id):
    """One of the recipient's own deliveries, or None (another's is not found)."""
    return db.session.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.recipient_id == recipient.id)
        .options(joinedload(Delivery.message).joinedload(SecureMessage.sender),
                 joinedload(Delivery.message).selectinload(SecureMessage.deliveries)
                 .joinedload(Delivery.recipient))
    )


def message_sent_by(sender, message_id):
    """One of the sender's own messages with its deliveries and evidence, or None."""
    return db.session.scalar(
        select(SecureMessage)
        .where(SecureMessage.id == message_id, SecureMessage.sender_id == sender.id)
        .options(selectinload(SecureMessage.deliveries).joinedload(Delivery.recipient),
                 joinedload(SecureMessage.recalled_by))
    )


def message_details(message_id):
    """A message with everything Message Details shows (never for the body), or None."""
    return db.session.scalar(
        select(SecureMessage).where(SecureMessage.id == message_id)
        .options(joinedload(SecureMessage.sender), joinedload(SecureMessage.recalled_by),
                 selectinload(SecureMessage.deliveries).joinedload(Delivery.recipient),
                 selectinload(SecureMessage.deliveries).selectinload(Delivery.evidence))
    )


def portal_logons(user_ids, since, until, per_user=5):
    """Recent portal sign-ins of these recipients within a window, newest first."""
    if not user_ids:
        return {}
    rows = db.session.scalars(
        select(AccessEvidence)
        .where(AccessEvidence.user_id.in_(user_ids),
               AccessEvidence.kind == EvidenceKind.PORTAL_LOGON,
               AccessEvidence.occurred_at >= since, AccessEvidence.occurred_at <= until)
        .order_by(AccessEvidence.occurred_at.desc())
    ).all()
    logons = {user_id: [] for user_id in user_ids}
    for row in rows:
        if len(logons[row.user_id]) < per_user:
            logons[row.user_id].append(row)
    return logons
