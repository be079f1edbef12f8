"""The outbox worker against a real SMTP server on loopback."""
import threading
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import OutboxEmail, OutboxStatus, utcnow
from portal.notifications import delivery
from portal.notifications.delivery import deliver_due, release_abandoned
from portal.notifications.outbox import REMOVED_CONTENT
from portal.notifications.transports import SmtpTransport, TransportError
from tests.support.factories import send
from tests.support.smtp import SmtpSink, free_port


def outbox():
    db.session.expire_all()
    return db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()


def two_emails(people):
    message, tokens = send(people["alice@example.com"],
                           ["bob@partner.example", "erin@partner.example"])
    return message, tokens


def test_each_email_arrives_with_text_and_html_and_the_personal_link(people, smtp_server):
    message, tokens = two_emails(people)
    assert deliver_due() == (2, 0)
    assert sorted(m["To"] for m in smtp_server.messages) == ["bob@partner.example",
                                                              "erin@partner.example"]
    for d in message.deliveries:
        [received] = smtp_server.to(d.recipient.email)
        assert received["Subject"] == "Secure message from alice@example.com: Quarterly statement"
        text = received.get_body(("plain",)).get_content()
        html = received.get_body(("html",)).get_content()
        link = f"http://portal.test/m/{tokens[d.id]}"
        assert link in text and f'href="{link}"' in html
        assert "alice@example.com" in text and "Available until:" in text
        assert message.body not in text  # the link grants nothing; the body stays in the portal
    assert {e.status for e in outbox()} == {OutboxStatus.SENT}


def test_smtp_down_then_up_delivers_every_email_exactly_once(people, app):
    port = free_port()  # nothing listens here yet
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT_SECONDS=2)
    two_emails(people)
    assert deliver_due() == (0, 2)
    waiting = outbox()
    assert {e.status for e in waiting} == {OutboxStatus.PENDING}
    assert all(e.attempts == 1 and e.last_error and e.next_attempt_at > utcnow() for e in waiting)
    assert deliver_due() == (0, 0)  # not due yet: backoff

    sink = SmtpSink(port=port).start()
    try:
        later = utcnow() + timedelta(minutes=5)
        assert deliver_due(now=later) == (2, 0)
        assert deliver_due(now=later + timedelta(hours=1)) == (0, 0)
        assert len(sink.messages) == 2
        assert len(set(sink.message_ids())) == 2
    finally:
        sink.stop()
    assert [e.attempts for e in outbox()] == [2, 2]


def test_a_refusing_server_is_retried_with_growing_delays(people, smtp_server):
    two_emails(people)
    smtp_server.refusals = 3
    deliver_due()
    first = outbox()
    assert all(e.status is OutboxStatus.PENDING and "451" in e.last_error for e in first)
    delay_one = first[0].next_attempt_at - utcnow()
    deliver_due(now=utcnow() + timedelta(hours=1))  # one more refusal, then one accepted
    second = outbox()
    refused_again = [e for e in second if e.status is OutboxStatus.PENDING]
    assert len(refused_again) == 1 and refused_again[0].attempts == 2
    assert refused_again[0].next_attempt_at - utcnow() > delay_one + timedelta(minutes=59)
    deliver_due(now=utcnow() + timedelta(days=1))
    assert {e.status for e in outbox()} == {OutboxStatus.SENT}
    assert len(smtp_server.messages) == 2


class WorkerCrash(BaseException):
    """Stands for the process dying: nothing after it runs, nothing is rolled back."""


def test_a_crash_after_handing_over_does_not_send_again(people, smtp_server, monkeypatch):
    two_emails(people)

    def crash(*_, **__):
        raise WorkerCrash()

    monkeypatch.setattr(delivery, "mark_sent", crash)
    with pytest.raises(WorkerCrash):
        deliver_due()
    db.session.rollback()
    monkeypatch.undo()
    assert len(smtp_server.messages) == 1  # the server has it; we never marked it
    handed_over, not_yet = outbox()  # both were claimed in the crashed pass
    assert handed_over.status is not_yet.status is OutboxStatus.SENDING
    assert handed_over.handed_over_at is not None and not_yet.handed_over_at is None

    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"] + 1)
    deliver_due(now=utcnow() + lease)
    emails = outbox()
    assert {e.status for e in emails} == {OutboxStatus.SENT}
    assert sorted(m["To"] for m in smtp_server.messages) == ["bob@partner.example",
                                                              "erin@partner.example"]
    assert "not sent again" in emails[0].last_error


def test_a_crash_before_handing_over_sends_it_later(people, smtp_server, monkeypatch):
    two_emails(people)

    def crash_before_data(self, email, before_final_step):
        raise WorkerCrash()

    monkeypatch.setattr(SmtpTransport, "deliver", crash_before_data)
    with pytest.raises(WorkerCrash):
        deliver_due()
    db.session.rollback()
    monkeypatch.undo()
    assert smtp_server.messages == []
    assert release_abandoned(utcnow()) == (0, 0)  # its lease has not run out yet
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"] + 1)
    deliver_due(now=utcnow() + lease)
    assert len(smtp_server.messages) == 2
    assert {e.status for e in outbox()} == {OutboxStatus.SENT}


def test_two_workers_never_take_the_same_email(app, people, smtp_server, backend):
    sender = people["alice@example.com"]
    for n in range(12):
        send(sender, ["bob@partner.example", "erin@partner.example", "frank@client.example"],
             subject=f"Batch {n}")
    db.session.remove()
    app.config["OUTBOX_BATCH_SIZE"] = 3
    start = threading.Barrier(2)
    results, errors = {}, []

    def work(name):
        try:
            with app.app_context():
                start.wait()
                results[name] = deliver_due(worker_id=name)
                db.session.remove()
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(smtp_server.messages) == 36
    assert len(set(smtp_server.message_ids())) == 36
    assert sum(sent for sent, _ in results.values()) == 36
    assert {e.status for e in outbox()} == {OutboxStatus.SENT}


def test_the_worker_command_delivers_what_is_due(app, people, smtp_server):
    two_emails(people)
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "Delivered 2 email(s); 0 will be retried." in result.output
    assert len(smtp_server.messages) == 2


def test_the_worker_command_refuses_to_run_with_nowhere_to_send(app):
    app.config.update(MAIL_SERVER=None, DEV_MAILBOX=False)
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code != 0
    assert "MAIL_SERVER is not set" in result.output


def test_a_worker_whose_lease_ran_out_can_neither_hand_over_nor_spoil_the_email(app, people):
    """The slow first worker's hand-over comes after a second worker took the email
    back; then its data is refused. The second worker's delivery is the one that counts:
    the email is not cancelled, not put back without its link, and goes out once."""
    message, tokens = send(people["alice@example.com"], ["carol@partner.example"])
    link = f"http://portal.test/m/{tokens[message.deliveries[0].id]}"
    db.session.remove()
    taken_back = utcnow() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 60)
    first_holds, second_holds, first_tried, second_done = (threading.Event() for _ in range(4))
    delivered, errors = [], []

    class SlowFirstWorker:
        name = "slow"

        def deliver(self, email, before_final_step):
            first_holds.set()
            second_holds.wait(20)
            try:
                before_final_step()  # its lease ran out a while ago
            finally:
                first_tried.set()
                second_done.wait(20)
            raise TransportError("DATA refused: 451 4.3.0 try again later")

    class Capture:
        name = "capture"

        def deliver(self, email, before_final_step):
            second_holds.set()
            first_tried.wait(20)
            before_final_step()
            delivered.append((email.to_address, email.text_body))

    def work(worker_id, now, transport, wait_for=None, then=None):
        try:
            if wait_for:
                wait_for.wait(20)
            with app.app_context():
                deliver_due(worker_id, now=now, transport=transport)
                db.session.remove()
        except Exception as error:
            errors.append(error)
        finally:
            if then:
                then.set()

    threads = [threading.Thread(target=work, args=("worker-1", None, SlowFirstWorker())),
               threading.Thread(target=work, args=("worker-2", taken_back, Capture(),
                                                   first_holds, second_done))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    deliver_due("worker-3", now=taken_back + timedelta(days=1), transport=Capture())
    assert len(delivered) == 1
    to, text = delivered[0]
    assert to == "carol@partner.example" and link in text
    [email] = outbox()
    assert email.status is OutboxStatus.SENT and email.content_removed


def test_an_email_whose_content_was_removed_is_never_sent_empty(people, smtp_server):
    send(people["alice@example.com"], ["carol@partner.example"])
    # What an overwritten cancel used to leave: waiting, without its text and link.
    db.session.execute(update(OutboxEmail).values(REMOVED_CONTENT))
    db.session.commit()
    assert deliver_due() == (0, 1)
    assert smtp_server.messages == []
    [email] = outbox()
    assert email.status is OutboxStatus.FAILED
    assert email.last_error == "Not sent: its content had been removed."
