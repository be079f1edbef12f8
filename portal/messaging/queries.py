"""Read-only queries that list secure messages for each audience.

Every query is scoped to what its audience may see: a sender's to their own
messages, a mailbox holder's to their own deliveries. Each list reads an index
on PostgreSQL and SQLite alike at any size (benchmarks/reader_scale.py shows
the plans on a million messages).
"""
from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Integer, Row, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from ..core.permissions import PERMISSION_NAMES
from ..extensions import db
from ..models import (
    AccessEvidence,
    Delivery,
    EvidenceKind,
    RecallSource,
    RecipientKind,
    RecipientStatus,
    SecureMessage,
    User,
    utcnow,
)
from ..models.message import summarise_recipients
from ..models.types import UTCDateTime


class _ListPage(Pagination):
    """Flask-SQLAlchemy's page of a list, from `items(limit, offset)` and `total`, a
    plain count over the table the list filters, run with `params`. (`db.paginate`
    counts by wrapping the whole list query, joins and columns, in a subquery.)"""

    def _query_items(self):
        return self._query_args["items"](self.per_page, self._query_offset)

    def _query_count(self):
        return _execute(self._query_args["total"], self._query_args["params"]).scalar()


# The lists print columns: they read columns (no objects), with statements built
# once, as every Inbox and Sent page runs them.
_DELIVERIES, _MESSAGES, _USERS = (Delivery.__table__, SecureMessage.__table__,
                                  User.__table__)
_D, _M, _U = _DELIVERIES.c, _MESSAGES.c, _USERS.c
_PAGE = {"limit": bindparam("limit"), "offset": bindparam("offset")}


def _execute(statement, params):
    """A statement built once, on the session's connection: no objects to load, so
    none of the ORM's per-statement work."""
    return db.session.connection().execute(statement, params)


@dataclass(slots=True, eq=False)
class SentRow:
    """A row of Sent: a message as its sender's list prints it."""
    id: int
    subject: str
    sent_at: datetime
    expires_at: datetime | None
    recalled_at: datetime | None
    to_summary: str = ""

    def status_at(self, now):
        return SecureMessage.status_at(self, now)  # the message's rule, on these columns

    @property
    def status(self):
        return self.status_at(utcnow())


SENT_PAGE = (
    select(_M.id, _M.subject, _M.sent_at, _M.expires_at, _M.recalled_at)
    .where(_M.sender_id == bindparam("sender_id"))
    .order_by(_M.sent_at.desc(), _M.id.desc()).limit(_PAGE["limit"]).offset(_PAGE["offset"])
)
SENT_TOTAL = (select(func.count()).select_from(_MESSAGES)
              .where(_M.sender_id == bindparam("sender_id")))
# Everyone a page of messages went to, To then Cc as the sender listed them.
RECIPIENTS_OF = (
    select(_D.message_id, _U.email)
    .select_from(_DELIVERIES.join(_USERS, _U.id == _D.recipient_id))
    .where(_D.message_id.in_(bindparam("message_ids", expanding=True)))
    .order_by(_D.message_id, _D.position)
)


def messages_sent_by(sender, page, per_page):
    """The sender's messages, newest first, read in order from
    ix_secure_messages_sender_sent_at_id; each with its To summary."""

    def items(limit, offset):
        rows = [SentRow(*row) for row in _execute(
            SENT_PAGE, {"sender_id": sender.id, "limit": limit, "offset": offset})]
        if rows:
            addresses = {row.id: [] for row in rows}
            for message_id, email in _execute(
                    RECIPIENTS_OF, {"message_ids": list(addresses)}):
                addresses[message_id].append(email)
            for row in rows:
                row.to_summary = summarise_recipients(addresses[row.id])
        return rows

    return _ListPage(items=items, total=SENT_TOTAL, params={"sender_id": sender.id},
                     page=page, per_page=per_page, error_out=False)


@dataclass(slots=True, eq=False)
class InboxRow:
    """A row of the Inbox: a delivery and what the list prints of its message."""
    id: int  # the delivery's
    recipient_status: RecipientStatus
    subject: str
    sent_at: datetime
    expires_at: datetime | None
    recalled_at: datetime | None
    recall_source: RecallSource | None
    recall_reason: str | None
    sender_email: str

    def status_at(self, now):
        return SecureMessage.status_at(self, now)  # the message's rule, on these columns

    @property
    def is_read(self):
        return self.recipient_status is RecipientStatus.READ


# The recipient's deliveries with their messages' sent_at first, as a fence
# (MATERIALIZED): read from the recipient's index entries, sorted, and only the
# page's rows then read with their columns. Without it, PostgreSQL may choose to walk
# every message newest first looking for the recipient's, as soon as its estimate of
# their number tips over (a million messages: seconds, not milliseconds).
_DATED = (select(_D.id, _M.sent_at)
          .select_from(_DELIVERIES.join(_MESSAGES, _M.id == _D.message_id))
          .where(_D.recipient_id == bindparam("recipient_id"))
          .cte("recipient_deliveries").prefix_with("MATERIALIZED"))
INBOX_PAGE = (
    select(_D.id, _D.recipient_status, _M.subject, _M.sent_at, _M.expires_at, _M.recalled_at,
           _M.recall_source, _M.recall_reason, _U.email)
    .select_from(_DELIVERIES.join(_MESSAGES, _M.id == _D.message_id)
                 .join(_USERS, _U.id == _M.sender_id))
    .where(_D.id.in_(
        select(_DATED.c.id).order_by(_DATED.c.sent_at.desc(), _DATED.c.id.desc())
        .limit(_PAGE["limit"]).offset(_PAGE["offset"])))
    .order_by(_M.sent_at.desc(), _D.id.desc())
)
# Every delivery has its message (a required foreign key): no join to count them.
INBOX_TOTAL = (select(func.count()).select_from(_DELIVERIES)
               .where(_D.recipient_id == bindparam("recipient_id")))


def inbox_of(recipient, page, per_page):
    """The recipient's deliveries, newest message first, as InboxRows."""

    def items(limit, offset):
        return [InboxRow(*row) for row in _execute(
            INBOX_PAGE, {"recipient_id": recipient.id, "limit": limit, "offset": offset})]

    return _ListPage(items=items, total=INBOX_TOTAL, params={"recipient_id": recipient.id},
                     page=page, per_page=per_page, error_out=False)


UNREAD = (
    select(func.count()).select_from(_DELIVERIES.join(_MESSAGES, _M.id == _D.message_id))
    .where(_D.recipient_id == bindparam("recipient_id"),
           _D.recipient_status == RecipientStatus.SENT, _M.recalled_at.is_(None),
           or_(_M.expires_at.is_(None), _M.expires_at > bindparam("now", type_=UTCDateTime)))
)


def unread_count(recipient, now=None):
    """Unread messages the recipient can still open (recalled and expired ones are greyed)."""
    return _execute(UNREAD, {"recipient_id": recipient.id, "now": now or utcnow()}).scalar()


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


# Message Details reads columns, never whole objects: the panel prints a few of each
# row. Two statements, built once (module level), on the tables rather than the
# mapped classes (the ORM's per-statement work costs more than these few rows), with
# their values as parameters: the message with its deliveries, then their evidence
# with the recipients' portal sign-ins.
_messages, _deliveries, _evidence = (SecureMessage.__table__, Delivery.__table__,
                                     AccessEvidence.__table__)
_sender, _recalled_by, _recipient = (User.__table__.alias("sender"),
                                     User.__table__.alias("recalled_by"),
                                     User.__table__.alias("recipient"))
_DELIVERY_COLUMNS = ("id", "recipient_id", "kind", "recipient_status", "first_read_at",
                     "first_read_channel")
DETAILS_MESSAGE = (
    select(*(_messages.c[name] for name in (
               "id", "subject", "sent_at", "expires_at", "recalled_at", "recall_source",
               "recall_reason", *PERMISSION_NAMES)),
           _sender.c.email.label("sender_email"), _recalled_by.c.email.label("recalled_by_email"),
           *(_deliveries.c[name].label(f"delivery_{name}") for name in _DELIVERY_COLUMNS),
           _recipient.c.email.label("delivery_recipient_email"))
    .join(_sender, _sender.c.id == _messages.c.sender_id)
    .outerjoin(_recalled_by, _recalled_by.c.id == _messages.c.recalled_by_id)
    .outerjoin(_deliveries, _deliveries.c.message_id == _messages.c.id)
    .outerjoin(_recipient, _recipient.c.id == _deliveries.c.recipient_id)
    .where(_messages.c.id == bindparam("message_id"))
    .order_by(_deliveries.c.position)
)
_EVIDENCE_COLUMNS = tuple(_evidence.c[name] for name in (
    "id", "delivery_id", "user_id", "kind", "occurred_at", "channel", "signed_in", "ip",
    "suspected_scanner", "details"))
_OF_THE_MESSAGE = _deliveries.c.message_id == bindparam("message_id")
# `logon` 0: the deliveries' evidence; 1: the recipients' portal sign-ins in the window
# (a sign-in through one of these deliveries' links is in both).
DETAILS_EVIDENCE = union_all(
    select(literal_column("0", Integer).label("logon"), *_EVIDENCE_COLUMNS)
    .where(_evidence.c.delivery_id.in_(
        select(_deliveries.c.id).where(_OF_THE_MESSAGE).scalar_subquery())),
    select(literal_column("1", Integer), *_EVIDENCE_COLUMNS)
    .where(_evidence.c.user_id.in_(
               select(_deliveries.c.recipient_id).where(_OF_THE_MESSAGE).scalar_subquery()),
           _evidence.c.kind == EvidenceKind.PORTAL_LOGON,
           _evidence.c.occurred_at >= bindparam("since"),
           _evidence.c.occurred_at <= bindparam("until")),
).order_by(literal_column("logon"), literal_column("occurred_at"), literal_column("id"))
LOGONS_PER_RECIPIENT = 5


@dataclass(slots=True)
class DetailsDelivery:
    """A delivery as Message Details shows it."""
    id: int
    recipient_id: int
    kind: RecipientKind
    recipient_status: RecipientStatus
    first_read_at: datetime | None
    first_read_channel: object
    recipient_email: str


@dataclass
class MessageDetails:
    """What Message Details shows of a message: its row (subject, times, permissions,
    sender_email, recalled_by_email), its deliveries in the sender's order, their
    evidence oldest first, and per recipient their latest portal sign-ins since the
    message was sent (until its recall), newest first (rows, not objects)."""
    message: Row
    deliveries: list
    evidence: list
    logons: dict

    def status_at(self, now):
        return SecureMessage.status_at(self.message, now)

    @property
    def recipient_permissions(self):
        return {name: getattr(self.message, name) for name in PERMISSION_NAMES}

    @property
    def to(self):
        return [d.recipient_email for d in self.deliveries if d.kind is RecipientKind.TO]

    @property
    def cc(self):
        return [d.recipient_email for d in self.deliveries if d.kind is RecipientKind.CC]


def message_details(message_id, now):
    """Everything Message Details shows of a message (never its body), or None."""
    # On the session's connection: these statements need nothing of the ORM's.
    connection = db.session.connection()
    rows = connection.execute(DETAILS_MESSAGE, {"message_id": message_id}).all()
    if not rows:
        return None
    message = rows[0]
    deliveries = [DetailsDelivery(*row[-len(_DELIVERY_COLUMNS) - 1:]) for row in rows
                  if row.delivery_id is not None]
    logons = {delivery.recipient_id: [] for delivery in deliveries}
    evidence = []
    for row in connection.execute(DETAILS_EVIDENCE, {
            "message_id": message_id, "since": message.sent_at,
            "until": message.recalled_at or now}):
        if not row.logon:
            evidence.append(row)
        else:
            logons[row.user_id].append(row)
    for user_id, rows_ in logons.items():
        logons[user_id] = rows_[::-1][:LOGONS_PER_RECIPIENT]  # newest first
    return MessageDetails(message=message, deliveries=deliveries, evidence=evidence,
                          logons=logons)
