"""Fill an empty database with demo accounts and about 300 secure messages.

Everything goes through the same services the portal uses, back-dated, so
statuses, access evidence and audit entries agree with each other. Running
it again adds nothing.
"""
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from ..core.request_info import RequestInfo
from ..extensions import db
from ..identity.passwords import hash_password
from ..messaging.reading import record_link_opened, record_view
from ..messaging.recall import recall_messages
from ..messaging.sending import MessageDraft, send_message
from ..models import (
    AdminRole,
    MessageStatus,
    OutboxEmail,
    OutboxStatus,
    RecallSource,
    SecureMessage,
    User,
    ViewChannel,
    utcnow,
)
from ..settings import ensure_account_settings

DEMO_PASSWORD = "portal-demo-password"
MESSAGE_COUNT = 300


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    internal: bool
    admin_role: AdminRole | None = None
    registered: bool = True
    time_zone: str = "UTC"


DEMO_ACCOUNTS = [
    DemoAccount("full.admin@example.com", "Fiona Full", True, AdminRole.FULL),
    DemoAccount("basic.admin@example.com", "Basil Basic", True, AdminRole.BASIC),
    DemoAccount("readonly.admin@example.com", "Rita Readonly", True, AdminRole.READ_ONLY),
    DemoAccount("alice@example.com", "Alice Archer", True, time_zone="Europe/London"),
    DemoAccount("dave@example.com", "Dave Dunn", True, time_zone="America/New_York"),
    DemoAccount("bob@partner.example", "Bob Baker", False),
    DemoAccount("erin@partner.example", "Erin Evans", False, time_zone="Europe/Berlin"),
    DemoAccount("frank@client.example", "Frank Fox", False),
    DemoAccount("carol@partner.example", "Carol Cole", False, registered=False),
]

SUBJECTS = [
    "Signed contract for review", "Quarterly statement", "Payroll changes for next month",
    "Medical report", "Bank details update", "Board pack (confidential)",
    "Tender response", "Passport copy request", "Invoice 4471 and remittance",
    "Access credentials for the data room", "Settlement offer", "Audit findings",
    "Pension transfer forms", "Background check results", "Draft merger terms",
]
BODIES = [
    "Hello,\n\nPlease find the details below. Let me know if anything is unclear.\n\nKind regards",
    "Hi,\n\nAs discussed on the phone, here is the information you asked for.\n"
    "Reference: {ref}\n\nThanks",
    "Good morning,\n\nThe figures for this period are ready. Reply if you need the breakdown.\n\nBest",
]
DEMO_REQUEST = RequestInfo(ip="192.0.2.10", user_agent="Demo data loader")
READER_REQUEST = RequestInfo(ip="198.51.100.23",
                             user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36")


def load_demo_data(now=None, message_count=MESSAGE_COUNT, seed=2026):
    """Returns a short report of what was added."""
    now = now or utcnow()
    settings = ensure_account_settings()
    users = {account.email: _ensure_account(account) for account in DEMO_ACCOUNTS}
    db.session.commit()
    if db.session.scalar(select(func.count()).select_from(SecureMessage)):
        return {"accounts": len(users), "messages": 0, "skipped": "messages already present"}
    _load_messages(users, settings, now, message_count, random.Random(seed))
    return {"accounts": len(users), "messages": message_count}


def _ensure_account(account):
    user = db.session.scalar(select(User).where(User.email == account.email))
    if user is None:
        user = User(email=account.email)
        db.session.add(user)
    user.display_name = account.name
    user.is_internal = account.internal
    user.admin_role = account.admin_role
    user.time_zone = account.time_zone
    if account.registered and user.password_hash is None:
        user.password_hash = hash_password(DEMO_PASSWORD)
        user.registered_at = utcnow()
    return user


def _load_messages(users, settings, now, count, rng):
    senders = [users["alice@example.com"], users["dave@example.com"]]
    externals = ["bob@partner.example", "erin@partner.example", "frank@client.example",
                 "carol@partner.example"]
    admin = users["basic.admin@example.com"]
    plans = []
    for i in range(count):
        # About 40% in the last 48 hours, the rest over the month before.
        if rng.random() < 0.4:
            age = timedelta(minutes=rng.randint(5, 48 * 60 - 5))
        else:
            age = timedelta(minutes=rng.randint(48 * 60, 30 * 24 * 60))
        plans.append((now - age, i))
    plans.sort()

    events = []  # (when, order, action) applied in time order, so ids follow time
    for sent_at, i in plans:
        sender = rng.choice(senders)
        k = rng.choices([1, 2, 3, 4], weights=[55, 25, 12, 8])[0]
        to = rng.sample(externals, k=min(k, len(externals)))
        cc = []
        if rng.random() < 0.15:
            cc = [u.email for u in senders if u is not sender]
        expires_at = None
        if rng.random() < 0.6:
            expires_at = sent_at + timedelta(days=rng.choice([3, 7, 14, 30]))
        draft = MessageDraft(
            to=to, cc=cc, subject=rng.choice(SUBJECTS),
            body=rng.choice(BODIES).format(ref=f"SM-{1000 + i}"),
            expires_at=expires_at, allow_reply=rng.random() < 0.8,
            allow_reply_all=rng.random() < 0.3, allow_forward=rng.random() < 0.3,
            allow_print=rng.random() < 0.7, read_receipt=rng.random() < 0.25,
        )
        recall = None
        roll = rng.random()
        if roll < 0.08:
            recall = (RecallSource.SENDER, sender, "Sent to the wrong people")
        elif roll < 0.13:
            recall = (RecallSource.ADMIN, admin, "Recalled at the data owner's request")
        recall_at = sent_at + timedelta(minutes=rng.randint(10, 600)) if recall else None
        if recall_at and recall_at >= now:
            recall_at = now - timedelta(minutes=1)
        events.append((sent_at, 0, ("send", sender, draft, recall, recall_at, rng.random())))

    sent = []
    for sent_at, _, (_send, sender, draft, recall, recall_at, view_roll) in sorted(
            events, key=lambda e: e[:2]):
        message, _tokens = send_message(sender, draft, settings=settings,
                                        request_info=DEMO_REQUEST, now=sent_at)
        sent.append((message, recall, recall_at, view_roll))

    # Reads and recalls, in time order across all messages.
    later = []
    for message, recall, recall_at, _view_roll in sent:
        access_ends = min(t for t in (recall_at, message.expires_at, now) if t is not None)
        for delivery in message.deliveries:
            if not delivery.recipient.is_registered or rng.random() > 0.6:
                continue
            seen_at = message.sent_at + timedelta(minutes=rng.randint(2, 3 * 24 * 60))
            if seen_at >= access_ends:
                continue
            channel = rng.choice([ViewChannel.INBOX, ViewChannel.DIRECT_LINK])
            later.append((seen_at, 1, ("view", delivery, channel)))
        if recall:
            later.append((recall_at, 2, ("recall", message, recall)))
    for when, _, event in sorted(later, key=lambda e: (e[0], e[1])):
        if event[0] == "view":
            _, delivery, channel = event
            if channel is ViewChannel.DIRECT_LINK:
                record_link_opened(delivery, signed_in=False, request_info=READER_REQUEST,
                                   now=when - timedelta(seconds=40))
            record_view(delivery.recipient, delivery, channel,
                        read_status_mode=settings.read_status_mode,
                        request_info=READER_REQUEST, now=when)
        else:
            _, message, (source, actor, reason) = event
            if message.status_at(when) is MessageStatus.SENT:
                recall_messages(actor, [message.id], source=source, reason=reason,
                                request_info=DEMO_REQUEST, now=when)

    # The demo's notification emails are history: already delivered.
    for email in db.session.scalars(select(OutboxEmail).where(
            OutboxEmail.status == OutboxStatus.PENDING)):
        email.status = OutboxStatus.SENT
        email.sent_at = email.created_at
    db.session.commit()
