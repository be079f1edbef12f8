"""The core use cases the demo data and later screens build on."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.reading import record_view
from portal.messaging.recall import recall_messages
from portal.messaging.sending import DraftError, MessageDraft, send_message
from portal.messaging.tokens import link_token_hash
from portal.models import (
    AccountSettings,
    AuditLogEntry,
    Delivery,
    EvidenceKind,
    OutboxEmail,
    ReadStatusMode,
    RecallSource,
    RecipientStatus,
    SecureMessage,
    User,
    ViewChannel,
    utcnow,
)
from portal.settings import current_settings
from tests.support.factories import TEST_REQUEST, account_mode, send


def total(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_sending_saves_message_deliveries_evidence_audit_and_emails(people):
    alice = people["alice@example.com"]
    message, tokens = send(alice, ["bob@partner.example", "new.person@elsewhere.example"],
                           cc=["BOB@partner.example", "dave@example.com"])
    assert [d.recipient.email for d in message.deliveries] == [
        "bob@partner.example", "new.person@elsewhere.example", "dave@example.com"]
    newcomer = db.session.scalar(select(User).where(User.email == "new.person@elsewhere.example"))
    assert newcomer.is_registered is False and newcomer.is_internal is False
    for delivery in message.deliveries:
        token = tokens[delivery.id]
        assert len(token) >= 43  # 256 bits, URL-safe
        assert delivery.link_token_hash == link_token_hash(token)
        assert [e.kind for e in delivery.evidence] == [EvidenceKind.NOTIFICATION_SENT]
    emails = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
    assert [e.to_address for e in emails] == [d.recipient.email for d in message.deliveries]
    assert tokens[message.deliveries[0].id] in emails[0].text_body
    assert db.session.scalars(select(AuditLogEntry.type)).all() == ["Secure Messaging - Sent"]


@pytest.mark.parametrize("draft_changes,field", [
    ({"to": []}, "to"),
    ({"subject": "  "}, "subject"),
    ({"expires_at": utcnow() - timedelta(minutes=1)}, "expires_at"),
])
def test_a_bad_draft_saves_nothing(people, draft_changes, field):
    draft = MessageDraft(**{"to": ["bob@partner.example"], "subject": "Hi", "body": "x",
                            **draft_changes})
    with pytest.raises(DraftError) as raised:
        send_message(people["alice@example.com"], draft, settings=current_settings(),
                     request_info=TEST_REQUEST)
    assert field in raised.value.errors
    assert total(SecureMessage) == total(Delivery) == total(OutboxEmail) == 0


def _set_mode(mode):
    db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
    db.session.commit()


@pytest.mark.parametrize("mode,channel,expected", [
    (ReadStatusMode.CONTENT_VIEWED, ViewChannel.DIRECT_LINK, RecipientStatus.READ),
    (ReadStatusMode.CONTENT_VIEWED, ViewChannel.INBOX, RecipientStatus.READ),
    (ReadStatusMode.INBOX_SELECTION, ViewChannel.DIRECT_LINK, RecipientStatus.SENT),
    (ReadStatusMode.INBOX_SELECTION, ViewChannel.INBOX, RecipientStatus.READ),
])
def test_read_status_follows_the_mode(people, mode, channel, expected):
    _set_mode(mode)
    message, _ = send(people["alice@example.com"], ["bob@partner.example"])
    delivery = message.deliveries[0]
    record_view(delivery.recipient, delivery, channel, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    assert delivery.recipient_status is expected
    views = [e for e in delivery.evidence if e.kind is EvidenceKind.MESSAGE_VIEWED]
    assert [v.channel for v in views] == [channel]  # recorded either way


def test_read_never_goes_back_and_first_read_stays(people):
    message, _ = send(people["alice@example.com"], ["bob@partner.example"])
    delivery = message.deliveries[0]
    first = record_view(delivery.recipient, delivery, ViewChannel.DIRECT_LINK,
                        read_status_mode=account_mode(), request_info=TEST_REQUEST).first_read_at
    _set_mode(ReadStatusMode.INBOX_SELECTION)
    record_view(delivery.recipient, delivery, ViewChannel.DIRECT_LINK,
                read_status_mode=account_mode(), request_info=TEST_REQUEST)
    assert delivery.recipient_status is RecipientStatus.READ
    assert delivery.first_read_at == first
    assert delivery.first_read_channel is ViewChannel.DIRECT_LINK


def test_a_view_by_someone_else_does_not_count(people):
    message, _ = send(people["alice@example.com"], ["bob@partner.example"])
    with pytest.raises(PermissionError):
        record_view(people["alice@example.com"], message.deliveries[0], ViewChannel.INBOX,
                    read_status_mode=account_mode(), request_info=TEST_REQUEST)


def test_recall_records_read_before_recall_and_skips_what_has_ended(people):
    alice, admin = people["alice@example.com"], people["basic.admin@example.com"]
    now = utcnow()
    read_one, _ = send(alice, ["bob@partner.example", "erin@partner.example"],
                       now=now - timedelta(hours=2))
    bob_delivery = read_one.deliveries[0]
    record_view(bob_delivery.recipient, bob_delivery, ViewChannel.DIRECT_LINK,
                read_status_mode=account_mode(), request_info=TEST_REQUEST, now=now - timedelta(hours=1))
    expired, _ = send(alice, ["bob@partner.example"], now=now - timedelta(days=3),
                      expires_in=timedelta(days=1))
    outcome = recall_messages(admin, [read_one.id, expired.id, 999999], source=RecallSource.ADMIN,
                              reason="  wrong recipients ", request_info=TEST_REQUEST, now=now)
    assert outcome.recalled == [read_one.id]
    assert outcome.skipped == {expired.id: "expired"} and outcome.not_found == [999999]
    assert read_one.recalled_by == admin and read_one.recall_reason == "wrong recipients"
    entry = db.session.scalars(select(AuditLogEntry)
                               .where(AuditLogEntry.type == "Secure Messaging - Admin Recalled")).one()
    assert entry.details["reason"] == "wrong recipients"
    assert {r["email"]: r["read_before_recall"] for r in entry.details["recipients"]} == {
        "bob@partner.example": True, "erin@partner.example": False}

    again = recall_messages(alice, [read_one.id], source=RecallSource.SENDER,
                            request_info=TEST_REQUEST)
    assert again.recalled == [] and again.skipped == {read_one.id: "recalled"}
    assert read_one.recall_source is RecallSource.ADMIN  # recall is final


def test_a_read_receipt_goes_to_the_sender_on_the_first_view_by_any_channel(people):
    _set_mode(ReadStatusMode.INBOX_SELECTION)
    message, _ = send(people["alice@example.com"], ["bob@partner.example"], read_receipt=True)
    delivery = message.deliveries[0]
    record_view(delivery.recipient, delivery, ViewChannel.DIRECT_LINK,
                read_status_mode=account_mode(), request_info=TEST_REQUEST)
    record_view(delivery.recipient, delivery, ViewChannel.INBOX, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    receipts = db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.to_address == "alice@example.com")).all()
    assert len(receipts) == 1
    assert receipts[0].subject == "Read: Quarterly statement"
    assert "bob@partner.example" in receipts[0].text_body
    assert delivery.read_receipt_sent_at is not None
    assert EvidenceKind.READ_RECEIPT_SENT in [e.kind for e in delivery.evidence]


def test_no_read_receipt_unless_asked_for(people):
    message, _ = send(people["alice@example.com"], ["bob@partner.example"])
    delivery = message.deliveries[0]
    record_view(delivery.recipient, delivery, ViewChannel.INBOX, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    assert db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.to_address == "alice@example.com")).all() == []


def test_a_new_recipient_sees_times_in_the_account_time_zone(people):
    db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).time_zone = "Asia/Tokyo"
    db.session.commit()
    message, _ = send(people["alice@example.com"], ["first.time@elsewhere.example"])
    assert message.deliveries[0].recipient.time_zone == "Asia/Tokyo"
