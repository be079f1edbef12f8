"""Showing a message to its recipient, and what that means for its status.

Status comes from access evidence: every view is recorded with its channel,
and the account's read-status mode decides which views make a recipient Read.

Every view writes evidence, so this runs on every Inbox selection and every
notification link: the statements are built once, and the evidence rows and
status changes are plain INSERTs and UPDATEs (no unit of work to flush). An ORM
Delivery handed in is kept in step with what was written.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import (
    AccessEvidence,
    Delivery,
    EvidenceKind,
    MessageStatus,
    ReadStatusMode,
    RecallSource,
    RecipientKind,
    RecipientStatus,
    SecureMessage,
    User,
    ViewChannel,
    utcnow,
)
from ..models.body_encryption import key_ring
from ..notifications.outbox import queue_read_receipt
from .tokens import link_token_hash

_DELIVERIES, _MESSAGES, _USERS = (Delivery.__table__, SecureMessage.__table__,
                                  User.__table__)
_D, _M, _U = _DELIVERIES.c, _MESSAGES.c, _USERS.c

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


@dataclass(slots=True, eq=False)
class Reading:
    """One delivery as its recipient sees it: the delivery, its message (the body
    still encrypted) and the sender's address, read in one row. `to` and `cc`
    are filled when the message is shown."""
    id: int  # the delivery's
    message_id: int
    recipient_id: int
    recipient_status: RecipientStatus
    read_receipt_sent_at: datetime | None
    subject: str
    body_ciphertext: str | None
    body_key_id: str
    sent_at: datetime
    expires_at: datetime | None
    allow_reply: bool
    allow_reply_all: bool
    allow_forward: bool
    allow_print: bool
    read_receipt: bool
    recalled_at: datetime | None
    recall_source: RecallSource | None
    recall_reason: str | None
    recalled_by_id: int | None
    sender_email: str
    to: tuple = ()
    cc: tuple = ()

    def status_at(self, now):
        return SecureMessage.status_at(self, now)  # the message's rule, on these columns

    @property
    def is_read(self):
        return self.recipient_status is RecipientStatus.READ

    @property
    def body(self):
        return key_ring().decrypt(self.body_key_id, self.body_ciphertext,
                                  where=f"the body of secure message {self.message_id}")

    @classmethod
    def of_delivery(cls, delivery):
        """The reading of an ORM Delivery (its message and sender loaded as needed)."""
        message = delivery.message
        return cls(delivery.id, message.id, delivery.recipient_id, delivery.recipient_status,
                   delivery.read_receipt_sent_at, message.subject, None, message.body_key_id,
                   message.sent_at, message.expires_at, message.allow_reply,
                   message.allow_reply_all, message.allow_forward, message.allow_print,
                   message.read_receipt, message.recalled_at, message.recall_source,
                   message.recall_reason, message.recalled_by_id, message.sender.email)


_READING = (
    select(_D.id, _D.message_id, _D.recipient_id, _D.recipient_status,
           _D.read_receipt_sent_at, _M.subject, _M.body, _M.body_key_id, _M.sent_at,
           _M.expires_at, _M.allow_reply, _M.allow_reply_all, _M.allow_forward,
           _M.allow_print, _M.read_receipt, _M.recalled_at, _M.recall_source,
           _M.recall_reason, _M.recalled_by_id, _U.email)
    .select_from(_DELIVERIES.join(_MESSAGES, _M.id == _D.message_id)
                 .join(_USERS, _U.id == _M.sender_id))
)
READING_OF = _READING.where(_D.id == bindparam("delivery_id"),
                            _D.recipient_id == bindparam("recipient_id"))
READING_FOR_LINK = _READING.where(_D.link_token_hash == bindparam("token_hash"))

# The To and Cc of a message shown, in the order the sender gave them.
PEOPLE = (select(_D.kind, _U.email).select_from(_DELIVERIES.join(_USERS, _U.id == _D.recipient_id))
          .where(_D.message_id == bindparam("message_id")).order_by(_D.position))

# The message row locked, as a recall locks it, and its status read under the lock.
# PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks: a no-op UPDATE takes
# the database's write lock (models/sql.py lock_rows) and returns the row.
_STATUS = [_M[name] for name in STATUS_COLUMNS]
LOCK_ON_POSTGRESQL = (select(*_STATUS).where(_M.id == bindparam("message_id"))
                      .with_for_update())
LOCK_ON_SQLITE = (update(_MESSAGES).where(_M.id == bindparam("message_id"))
                  .values(id=_M.id).returning(*_STATUS))

EVIDENCE = insert(AccessEvidence.__table__)
MARK_READ = (update(_DELIVERIES)
             .where(_D.id == bindparam("delivery_id"), _D.recipient_status == RecipientStatus.SENT)
             .values(recipient_status=RecipientStatus.READ, first_read_at=bindparam("now"),
                     first_read_channel=bindparam("channel")))
MARK_RECEIPT_SENT = (update(_DELIVERIES)
                     .where(_D.id == bindparam("delivery_id"), _D.read_receipt_sent_at.is_(None))
                     .values(read_receipt_sent_at=bindparam("now")))


def reading_of(recipient, delivery_id):
    """One of the recipient's own deliveries as a Reading, or None (another's is not found)."""
    row = _execute(READING_OF, {"delivery_id": delivery_id,
                                "recipient_id": recipient.id}).first()
    return None if row is None else Reading(*row)


def reading_for_link(token):
    """The delivery a notification-link token belongs to, as a Reading, or None."""
    if not token or len(token) > 128:
        return None
    row = _execute(READING_FOR_LINK, {"token_hash": link_token_hash(token)}).first()
    return None if row is None else Reading(*row)


def recipient_of(reading):
    """The person a Reading's delivery went to."""
    return db.session.get(User, reading.recipient_id)


@dataclass
class MessageAccess:
    delivery: object  # the Reading (or the Delivery) asked for
    message: object  # what the page shows of the message: the Reading, or a SecureMessage
    status: MessageStatus

    @property
    def shown(self):
        return self.status is MessageStatus.SENT


def open_message(recipient, delivery, channel, *, read_status_mode, request_info, now=None,
                 link_opened=None):
    """The recipient asks to see the message of `delivery` (a Reading or a Delivery)
    through `channel`.

    The status check and the evidence are one transaction with the message
    row locked, as a recall locks it: once a recall or the expiry has
    happened, no later request is shown the body, and a view that committed
    first is counted as read before the recall.
    Returns a MessageAccess; `shown` says whether the body may be displayed.
    """
    if delivery.recipient_id != recipient.id:
        raise PermissionError("a view counts only for the delivery's own recipient")
    reading = delivery if isinstance(delivery, Reading) else Reading.of_delivery(delivery)
    db.session.flush()  # what the caller changed goes first, as the ORM would send it
    locked = _lock_message(reading)
    if link_opened is not None:
        _insert_evidence(link_opened)
    now = now or utcnow()  # read after the lock: a recall that committed first is seen
    for name, value in zip(STATUS_COLUMNS, locked, strict=True):
        setattr(reading, name, value)
    _keep_in_step(delivery, message=dict(zip(STATUS_COLUMNS, locked, strict=True)))
    status = reading.status_at(now)
    if status is not MessageStatus.SENT:
        _insert_evidence(dict(
            delivery_id=reading.id, user_id=recipient.id, kind=EvidenceKind.ACCESS_REFUSED,
            occurred_at=now, channel=channel, signed_in=True, ip=request_info.ip,
            user_agent=request_info.user_agent, details={"reason": status.value.lower()}))
        db.session.commit()
        _forget_evidence(delivery)
        return MessageAccess(delivery, reading if delivery is reading else delivery.message,
                             status)
    changes = _record_view(recipient, reading, channel, read_status_mode=read_status_mode,
                           request_info=request_info, now=now)
    db.session.commit()
    _keep_in_step(delivery, changes)
    if delivery is reading:
        reading.to, reading.cc = _people(reading.message_id)
        return MessageAccess(reading, reading, status)
    return MessageAccess(delivery, delivery.message, status)


def record_view(recipient, delivery, channel, *, read_status_mode, request_info, now=None):
    """The body of `delivery`'s message was shown to its recipient through `channel`.

    Always recorded as evidence. The recipient status moves Sent -> Read once,
    as the account's read-status mode says, and never back. The read receipt,
    where the sender asked for one, goes on the first view by any channel, in
    either mode. Commits.
    """
    if delivery.recipient_id != recipient.id:
        raise PermissionError("a view counts only for the delivery's own recipient")
    reading = delivery if isinstance(delivery, Reading) else Reading.of_delivery(delivery)
    db.session.flush()
    changes = _record_view(recipient, reading, channel, read_status_mode=read_status_mode,
                           request_info=request_info, now=now or utcnow())
    db.session.commit()
    _keep_in_step(delivery, changes)
    return delivery


def _record_view(recipient, reading, channel, *, read_status_mode, request_info, now):
    """record_view's writes, in the caller's transaction. `reading` follows them; returns
    the delivery's columns they changed."""
    changes = {}
    if reading.read_receipt and reading.read_receipt_sent_at is None and _execute(
            MARK_RECEIPT_SENT, {"delivery_id": reading.id, "now": now}).rowcount:
        reading.read_receipt_sent_at = changes["read_receipt_sent_at"] = now
        delivery = db.session.get(Delivery, reading.id)
        set_committed_value(delivery, "read_receipt_sent_at", now)
        queue_read_receipt(delivery, now=now)
        _insert_evidence(dict(delivery_id=reading.id, kind=EvidenceKind.READ_RECEIPT_SENT,
                              occurred_at=now, details={"to": reading.sender_email}))
    _insert_evidence(dict(
        delivery_id=reading.id, user_id=recipient.id, kind=EvidenceKind.MESSAGE_VIEWED,
        occurred_at=now, channel=channel, signed_in=True, ip=request_info.ip,
        user_agent=request_info.user_agent))
    if (reading.recipient_status is RecipientStatus.SENT
            and counts_as_read(read_status_mode, channel) and _execute(
                MARK_READ, {"delivery_id": reading.id, "now": now, "channel": channel}).rowcount):
        reading.recipient_status = RecipientStatus.READ
        changes.update(recipient_status=RecipientStatus.READ, first_read_at=now,
                       first_read_channel=channel)
    return changes


def _link_opened(delivery, *, signed_in, request_info, suspected_scanner, details, now):
    return dict(
        delivery_id=delivery.id, user_id=delivery.recipient_id if signed_in else None,
        kind=EvidenceKind.LINK_OPENED, occurred_at=now or utcnow(), signed_in=signed_in,
        ip=request_info.ip, user_agent=request_info.user_agent,
        suspected_scanner=suspected_scanner, details=details or {})


def record_link_opened(delivery, *, signed_in, request_info, suspected_scanner=False,
                       details=None, now=None):
    """The notification link was opened. Evidence only: opening is not reading. Commits."""
    db.session.flush()
    _insert_evidence(_link_opened(delivery, signed_in=signed_in, request_info=request_info,
                                  suspected_scanner=suspected_scanner, details=details,
                                  now=now))
    db.session.commit()
    _forget_evidence(delivery)


def open_message_from_link(recipient, delivery, *, read_status_mode, request_info,
                           suspected_scanner=False, now=None):
    """The signed-in recipient opens their notification link: the link's opening and
    the view (or the refusal) are recorded in one transaction. Returns a MessageAccess."""
    opened = _link_opened(delivery, signed_in=True, request_info=request_info,
                          suspected_scanner=suspected_scanner, details=None, now=now)
    return open_message(recipient, delivery, ViewChannel.DIRECT_LINK,
                        read_status_mode=read_status_mode, request_info=request_info, now=now,
                        link_opened=opened)


def _lock_message(reading):
    """Lock the message's row for the rest of the transaction; its status columns as
    they are committed now (a recall may just have changed them)."""
    connection = db.session.connection()
    lock = LOCK_ON_POSTGRESQL if connection.dialect.name == "postgresql" else LOCK_ON_SQLITE
    return connection.execute(lock, {"message_id": reading.message_id}).one()


def _execute(statement, params):
    """A statement built once, on the session's connection (in its transaction)
    without the ORM's per-statement work: these statements load no objects."""
    return db.session.connection().execute(statement, params)


def _insert_evidence(values):
    _execute(EVIDENCE, values)


def _people(message_id):
    to, cc = [], []
    for kind, email in _execute(PEOPLE, {"message_id": message_id}):
        (to if kind is RecipientKind.TO else cc).append(email)
    return to, cc


def _keep_in_step(delivery, changes=None, *, message=None):
    """An ORM Delivery handed in shows what was written, as if it had been loaded after
    the commit; its evidence, if loaded, is read again when next asked for."""
    if isinstance(delivery, Reading):
        return
    if message is not None and "message" in inspect(delivery).dict:
        for name, value in message.items():
            set_committed_value(delivery.message, name, value)
    for name, value in (changes or {}).items():
        set_committed_value(delivery, name, value)
    _forget_evidence(delivery)


def _forget_evidence(delivery):
    if not isinstance(delivery, Reading) and "evidence" in inspect(delivery).dict:
        db.session.expire(delivery, ["evidence"])
