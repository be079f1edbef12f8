"""A recall cancels the notifications the SMTP server does not have yet.

The cancel and the worker's hand-over are both conditional updates of the
same row, so whichever commits first wins and the other respects it: a
notification is either cancelled and never sent, or handed over and left as
sent. The worker also looks again at the message when it is about to send.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.reading import record_view
from portal.messaging.recall import admin_recall, sender_recall
from portal.models import (
    AccessEvidence,
    EmailKind,
    EvidenceKind,
    OutboxEmail,
    OutboxStatus,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from portal.notifications import delivery
from portal.notifications.delivery import claim, deliver_due
from portal.notifications.transports import SmtpTransport, TransportError
from portal.settings import current_settings
from tests.support.factories import TEST_REQUEST, account_mode, send


def emails(kind=EmailKind.NOTIFICATION):
    db.session.expire_all()
    return db.session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind)
                              .order_by(OutboxEmail.id)).all()


def test_a_sender_recall_a_second_after_sending_cancels_the_notification(people, smtp_server):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example", "bob@partner.example"],
                      subject="Salary review")
    sender_recall(alice, message.id, request_info=TEST_REQUEST)
    assert deliver_due() == (0, 0)
    assert smtp_server.messages == []
    for email in emails():
        assert email.status is OutboxStatus.CANCELLED
        assert email.last_error == "Not sent: the secure message was recalled."
        assert email.content_removed  # its link is gone too
        assert email.subject.endswith("Salary review")  # admins still see what it was


def test_an_admin_bulk_recall_cancels_every_waiting_notification(people, smtp_server):
    alice = people["alice@example.com"]
    ids = [send(alice, ["carol@partner.example"], subject=f"Batch {n}")[0].id for n in range(5)]
    _kept, _ = send(alice, ["bob@partner.example"], subject="Not recalled")
    outcome = admin_recall(people["full.admin@example.com"], ids,
                           edition=current_settings().edition, request_info=TEST_REQUEST)
    assert outcome.recalled == ids
    assert deliver_due() == (1, 0)
    assert [m["Subject"] for m in smtp_server.messages] == [
        "Secure message from alice@example.com: Not recalled"]
    assert [e.status for e in emails()] == [OutboxStatus.CANCELLED] * 5 + [OutboxStatus.SENT]


def test_a_recall_while_a_worker_holds_the_email_stops_it_before_the_data(
        people, smtp_server, monkeypatch):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example"])
    recalled = []
    real_deliver = SmtpTransport.deliver

    def recall_in_the_middle(self, email, before_final_step):
        # The worker has claimed the email and connected: now the sender recalls.
        if not recalled:
            recalled.append(sender_recall(alice, message.id, request_info=TEST_REQUEST))
        return real_deliver(self, email, before_final_step)

    monkeypatch.setattr(SmtpTransport, "deliver", recall_in_the_middle)
    assert deliver_due() == (0, 0)
    assert recalled and smtp_server.messages == []
    [email] = emails()
    assert email.status is OutboxStatus.CANCELLED and email.handed_over_at is None


def test_an_email_already_handed_over_is_not_contradicted_by_a_recall(
        people, smtp_server, monkeypatch):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example"])

    def crash(*_, **__):
        raise KeyboardInterrupt  # the worker dies after the server took the data

    monkeypatch.setattr(delivery, "mark_sent", crash)
    try:
        deliver_due()
    except KeyboardInterrupt:
        db.session.rollback()
    monkeypatch.undo()
    sender_recall(alice, message.id, request_info=TEST_REQUEST)
    [email] = emails()
    assert email.status is OutboxStatus.SENDING and email.handed_over_at is not None
    assert len(smtp_server.messages) == 1


def test_a_claimed_email_whose_message_was_recalled_is_cancelled_not_sent(people,
                                                                           smtp_server):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example"])
    # The worker claims it; the recall's cancel then finds it `sending`, not handed over.
    [email_id] = claim("worker-1", 10)
    sender_recall(alice, message.id, request_info=TEST_REQUEST)
    config = current_app.config
    assert delivery._deliver_one(email_id, "worker-1", SmtpTransport(config), config) is None
    assert smtp_server.messages == []
    assert emails()[0].status is OutboxStatus.CANCELLED


def test_a_notification_for_a_message_expired_by_the_time_it_is_due_is_not_sent(
        people, smtp_server):
    alice = people["alice@example.com"]
    send(alice, ["carol@partner.example"], expires_in=timedelta(hours=1))
    assert deliver_due(now=utcnow() + timedelta(hours=2)) == (0, 0)
    assert smtp_server.messages == []
    [email] = emails()
    assert email.status is OutboxStatus.CANCELLED
    assert email.last_error == "Not sent: the secure message had expired."


def test_a_read_receipt_for_a_recalled_message_still_reaches_its_sender(people, smtp_server):
    alice, bob = people["alice@example.com"], people["bob@partner.example"]
    message, _ = send(alice, ["bob@partner.example"], read_receipt=True)
    assert deliver_due() == (1, 0)  # the notification
    record_view(bob, message.deliveries[0], ViewChannel.INBOX, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    sender_recall(alice, message.id, request_info=TEST_REQUEST)
    assert deliver_due() == (1, 0)
    [receipt] = emails(EmailKind.READ_RECEIPT)
    assert receipt.status is OutboxStatus.SENT
    assert smtp_server.messages[-1]["To"] == "alice@example.com"


def test_a_recall_while_the_send_fails_is_not_undone_by_the_retry(people, smtp_server,
                                                                   monkeypatch):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example"])

    def recall_then_refuse(self, email, before_final_step):
        # The sender recalls while the worker talks to the server, which then refuses.
        sender_recall(alice, message.id, request_info=TEST_REQUEST)
        raise TransportError("RCPT TO refused: 451 try later")

    monkeypatch.setattr(SmtpTransport, "deliver", recall_then_refuse)
    assert deliver_due() == (0, 0)
    monkeypatch.undo()
    [email] = emails()
    assert email.status is OutboxStatus.CANCELLED
    assert email.last_error == "Not sent: the secure message was recalled."
    assert email.content_removed
    assert deliver_due(now=utcnow() + timedelta(hours=1)) == (0, 0)
    assert smtp_server.messages == []


def cancel_evidence():
    db.session.expire_all()
    return db.session.scalars(select(AccessEvidence).where(
        AccessEvidence.kind == EvidenceKind.NOTIFICATION_CANCELLED)
        .order_by(AccessEvidence.delivery_id)).all()


def test_a_recall_records_that_each_waiting_notification_was_cancelled(people, smtp_server):
    alice = people["alice@example.com"]
    ids = [send(alice, ["carol@partner.example", "bob@partner.example"],
                subject=f"Batch {n}")[0].id for n in range(3)]
    _kept, _ = send(alice, ["bob@partner.example"], subject="Not recalled")
    admin_recall(people["full.admin@example.com"], ids, edition=current_settings().edition,
                 request_info=TEST_REQUEST)
    recalled = db.session.scalars(select(SecureMessage).where(SecureMessage.id.in_(ids))).all()
    deliveries = sorted(d.id for m in recalled for d in m.deliveries)
    evidence = cancel_evidence()
    assert [e.delivery_id for e in evidence] == deliveries
    assert {e.details["reason"] for e in evidence} == {"recalled"}
    assert {e.occurred_at for e in evidence} == {recalled[0].recalled_at}
    # The notification-sent evidence written when it was queued stays; this one follows it.
    assert deliver_due() == (1, 0)
    assert len(cancel_evidence()) == 6


def test_a_recall_after_the_notification_went_out_records_no_cancel(people, smtp_server):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example"])
    assert deliver_due() == (1, 0)
    sender_recall(alice, message.id, request_info=TEST_REQUEST)
    assert cancel_evidence() == []


def test_an_expiry_cancel_by_the_worker_is_recorded_as_evidence(people, smtp_server):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["carol@partner.example"], expires_in=timedelta(hours=1))
    assert deliver_due(now=utcnow() + timedelta(hours=2)) == (0, 0)
    [evidence] = cancel_evidence()
    assert evidence.delivery_id == message.deliveries[0].id
    assert evidence.details == {"reason": "expired"}
