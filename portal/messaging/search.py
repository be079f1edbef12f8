"""Email Delivery > Secure Messaging: the administrators' search over what was sent.

Criteria come from the URL, so a result page can be reloaded, shared and
reached with Back. Everything is one indexed range on `sent_at` narrowed by
the other fields; partial matches are case-insensitive.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select

from ..core.day_range import day_window, parse_day_range
from ..core.pagination import page_number
from ..extensions import db
from ..models import Delivery, MessageStatus, SecureMessage, User, utcnow
from ..models.message import summarise_recipients
from ..models.sql import contains_text, in_id_list

RANGES = {
    "48h": ("Last 48 hours", timedelta(hours=48)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "custom": ("Custom range", None),
}
DEFAULT_RANGE = "48h"
STATUSES = ("Sent", "Recalled", "Expired")
MAX_TEXT = 254


@dataclass
class SearchCriteria:
    sender: str = ""
    recipient: str = ""
    subject: str = ""
    range: str = DEFAULT_RANGE
    start: date | None = None  # custom range, inclusive days in the admin's zone
    end: date | None = None
    status: str = ""
    oldest_first: bool = False
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args):
        """Read criteria from query arguments; problems are collected, never raised."""
        criteria = cls(
            sender=args.get("from", "").strip()[:MAX_TEXT],
            recipient=args.get("to", "").strip()[:MAX_TEXT],
            subject=args.get("subject", "").strip()[:MAX_TEXT],
            range=args.get("range", DEFAULT_RANGE),
            status=args.get("status", ""),
            oldest_first=args.get("sort") == "oldest",
            page=page_number(args),
        )
        if criteria.range not in RANGES:
            criteria.errors["range"] = "Choose a time range from the list."
            criteria.range = DEFAULT_RANGE
        if criteria.status and criteria.status not in STATUSES:
            criteria.errors["status"] = "Choose a status from the list."
            criteria.status = ""
        if criteria.range == "custom":
            criteria.start, criteria.end = parse_day_range(args, criteria.errors, required=True)
        return criteria

    def as_args(self, **changes):
        """The query arguments for these criteria (for links that keep the search)."""
        values = {"from": self.sender, "to": self.recipient, "subject": self.subject,
                  "range": self.range, "status": self.status,
                  "sort": "oldest" if self.oldest_first else "",
                  "start": self.start.isoformat() if self.start else "",
                  "end": self.end.isoformat() if self.end else "", "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items()
                if v not in ("", None) and not (k == "page" and v == 1)
                and not (k == "range" and v == DEFAULT_RANGE)}

    def window(self, zone_name, now):
        """The UTC [start, end) of the time range."""
        if self.range != "custom":
            return now - RANGES[self.range][1], None
        return day_window(self.start, self.end, zone_name)


# A From or To text matching at most this many people is looked up through
# their ids (indexed); a broader one is checked per message in the window.
FEW_PEOPLE = 1000

# The search lists columns, never whole objects, and reads the tables rather than the
# mapped classes: the ORM's work per statement would cost more than the page's rows.
_messages, _deliveries, _users = SecureMessage.__table__, Delivery.__table__, User.__table__
_sender = _users.alias("sender")


def _people_matching(text_):
    return db.session.scalars(
        select(_users.c.id).where(contains_text(_users.c.email, text_))
        .limit(FEW_PEOPLE + 1)).all()


def search_conditions(criteria, zone_name, now):
    start, end = criteria.window(zone_name, now)
    m = _messages.c
    conditions = []
    if start is not None:
        conditions.append(m.sent_at >= start)
    if end is not None:
        conditions.append(m.sent_at < end)
    if criteria.sender:
        senders = _people_matching(criteria.sender)
        if len(senders) <= FEW_PEOPLE:
            conditions.append(in_id_list(m.sender_id, senders))
        else:
            sender = _users.alias()
            conditions.append(exists().where(
                sender.c.id == m.sender_id, contains_text(sender.c.email, criteria.sender)))
    if criteria.recipient:
        recipients = _people_matching(criteria.recipient)
        if len(recipients) <= FEW_PEOPLE:
            conditions.append(m.id.in_(
                select(_deliveries.c.message_id)
                .where(in_id_list(_deliveries.c.recipient_id, recipients))))
        else:
            recipient = _users.alias()
            conditions.append(exists().where(
                _deliveries.c.message_id == m.id, recipient.c.id == _deliveries.c.recipient_id,
                contains_text(recipient.c.email, criteria.recipient)))
    if criteria.subject:
        conditions.append(contains_text(m.subject, criteria.subject))
    if criteria.status == MessageStatus.RECALLED.value:
        conditions.append(m.recalled_at.is_not(None))
    elif criteria.status == MessageStatus.EXPIRED.value:
        conditions.append(and_(m.recalled_at.is_(None), m.expires_at <= now))
    elif criteria.status == MessageStatus.SENT.value:
        conditions.append(and_(m.recalled_at.is_(None),
                               or_(m.expires_at.is_(None), m.expires_at > now)))
    return conditions


@dataclass(slots=True)
class SearchRow:
    """One result: what the row shows."""
    id: int
    subject: str
    sender_email: str
    sent_at: datetime
    expires_at: datetime | None
    status: str  # a MessageStatus value
    to: str  # one address, or `first@domain and N other(s)`


@dataclass
class SearchPage:
    items: list  # SearchRow
    total: int
    page: int
    per_page: int

    @property
    def pages(self):
        return max((self.total + self.per_page - 1) // self.per_page, 1)


_COUNT = select(func.count()).select_from(_messages)
_ROWS = (select(_messages.c.id, _messages.c.subject, _sender.c.email, _messages.c.sent_at,
                _messages.c.expires_at, _messages.c.recalled_at)
         .join(_sender, _sender.c.id == _messages.c.sender_id))
_NEWEST_FIRST = (_messages.c.sent_at.desc(), _messages.c.id.desc())
_OLDEST_FIRST = (_messages.c.sent_at.asc(), _messages.c.id.asc())


# The page as it opens (a time range alone, the common case) runs statements built
# once; a search with other criteria builds its own.
_SINCE = _messages.c.sent_at >= bindparam("since")
_COUNT_SINCE = _COUNT.where(_SINCE)
_ROWS_SINCE = {oldest_first: _ROWS.where(_SINCE)
               .order_by(*(_OLDEST_FIRST if oldest_first else _NEWEST_FIRST))
               .limit(bindparam("limit")).offset(bindparam("offset"))
               for oldest_first in (False, True)}


def search_messages(criteria, zone_name, per_page, now=None):
    now = now or utcnow()
    range_only = criteria.range != "custom" and not (
        criteria.sender or criteria.recipient or criteria.subject or criteria.status)
    if range_only:
        params = {"since": criteria.window(zone_name, now)[0]}
        total = db.session.connection().execute(_COUNT_SINCE, params).scalar()
    else:
        conditions = search_conditions(criteria, zone_name, now)
        total = db.session.connection().execute(_COUNT.where(*conditions)).scalar()
    # A page past the last shows the last one rather than claiming nothing matched.
    criteria.page = min(criteria.page, max((total + per_page - 1) // per_page, 1))
    offset = (criteria.page - 1) * per_page
    if range_only:
        rows = db.session.connection().execute(_ROWS_SINCE[criteria.oldest_first],
                                  {**params, "limit": per_page, "offset": offset}).all()
    else:
        rows = db.session.connection().execute(
            _ROWS.where(*conditions).order_by(*(_OLDEST_FIRST if criteria.oldest_first
                                                else _NEWEST_FIRST))
            .limit(per_page).offset(offset)).all()
    to = to_summaries([row.id for row in rows])
    items = [SearchRow(id=id_, subject=subject, sender_email=sender_email, sent_at=sent_at,
                       expires_at=expires_at, status=_status(recalled_at, expires_at, now),
                       to=to[id_])
             for id_, subject, sender_email, sent_at, expires_at, recalled_at in rows]
    return SearchPage(items=items, total=total, page=criteria.page, per_page=per_page)


def _status(recalled_at, expires_at, now):
    # As SecureMessage.status_at.
    if recalled_at is not None:
        return MessageStatus.RECALLED.value
    if expires_at is not None and expires_at <= now:
        return MessageStatus.EXPIRED.value
    return MessageStatus.SENT.value


_TO_ADDRESSES = (
    select(_deliveries.c.message_id, _users.c.email)
    .join(_users, _users.c.id == _deliveries.c.recipient_id)
    .where(_deliveries.c.message_id.in_(bindparam("message_ids", expanding=True)))
    .order_by(_deliveries.c.message_id, _deliveries.c.position)
)


def to_summaries(message_ids):
    """The `To` column for a page of messages, in one plain query (no delivery objects)."""
    addresses = {message_id: [] for message_id in message_ids}
    if message_ids:
        for message_id, email in db.session.connection().execute(
                _TO_ADDRESSES, {"message_ids": message_ids}):
            addresses[message_id].append(email)
    return {message_id: summarise_recipients(emails) for message_id, emails in addresses.items()}
