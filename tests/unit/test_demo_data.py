"""Demo data: the design's accounts, a month of messages, evidence that agrees."""
from datetime import timedelta

from sqlalchemy import func, select

from portal.demo.data import DEMO_ACCOUNTS, load_demo_data
from portal.extensions import db
from portal.models import (
    AccessEvidence,
    AuditLogEntry,
    Delivery,
    EvidenceKind,
    MessageStatus,
    RecallSource,
    RecipientStatus,
    SecureMessage,
    User,
    ViewChannel,
    utcnow,
)


def count(query):
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def test_demo_data_has_every_kind_of_message_and_loads_once(backend):
    now = utcnow()
    report = load_demo_data(now=now)
    assert report == {"accounts": 9, "messages": 300}

    users = {u.email: u for u in db.session.scalars(select(User))}
    for account in DEMO_ACCOUNTS:
        user = users[account.email]
        assert user.admin_role == account.admin_role
        assert user.is_registered == account.registered
    assert db.session.scalar(select(func.count()).select_from(Delivery)
                             .join(User).where(User.email == "carol@partner.example")) > 0

    messages = db.session.scalars(select(SecureMessage)).all()
    assert len(messages) == 300
    recent = [m for m in messages if m.sent_at >= now - timedelta(hours=48)]
    assert 60 <= len(recent) <= 180
    assert min(m.sent_at for m in messages) >= now - timedelta(days=30, minutes=1)
    statuses = {m.status_at(now) for m in messages}
    assert statuses == {MessageStatus.SENT, MessageStatus.RECALLED, MessageStatus.EXPIRED}
    assert {m.recall_source for m in messages if m.recalled_at} == {RecallSource.SENDER,
                                                                   RecallSource.ADMIN}
    assert any(len(m.deliveries) == 1 for m in messages)
    assert any(len(m.deliveries) >= 3 for m in messages)
    assert any(m.expires_at is None for m in messages)
    channels = {d.first_read_channel for m in messages for d in m.deliveries if d.is_read}
    assert channels == {ViewChannel.INBOX, ViewChannel.DIRECT_LINK}

    audit_types = db.session.scalars(select(AuditLogEntry.type).distinct()).all()
    assert {"Secure Messaging - Sent", "Secure Messaging - Admin Recalled",
            "Secure Messaging - Sender Recalled"} <= set(audit_types)

    again = load_demo_data(now=now)
    assert again["messages"] == 0
    assert db.session.scalar(select(func.count()).select_from(SecureMessage)) == 300
    assert db.session.scalar(select(func.count()).select_from(User)) == 9


def test_demo_evidence_agrees_with_every_status(backend):
    now = utcnow()
    load_demo_data(now=now, message_count=120)
    for delivery in db.session.scalars(select(Delivery)):
        views = [e for e in delivery.evidence if e.kind is EvidenceKind.MESSAGE_VIEWED]
        kinds = [e.kind for e in delivery.evidence]
        assert kinds[0] is EvidenceKind.NOTIFICATION_SENT
        message = delivery.message
        if delivery.recipient_status is RecipientStatus.READ:
            first = views[0]
            assert first.occurred_at == delivery.first_read_at
            assert first.channel is delivery.first_read_channel
        else:
            assert views == []  # default mode: any view would have made it Read
        for view in views:
            assert view.occurred_at >= message.sent_at
            if message.recalled_at:
                assert view.occurred_at < message.recalled_at
            if message.expires_at:
                assert view.occurred_at < message.expires_at
            if view.channel is ViewChannel.DIRECT_LINK:
                assert any(e.kind is EvidenceKind.LINK_OPENED and e.occurred_at < view.occurred_at
                           for e in delivery.evidence)
    assert db.session.scalar(select(func.count()).select_from(AccessEvidence)
                             .where(AccessEvidence.kind == EvidenceKind.MESSAGE_VIEWED)) > 0
