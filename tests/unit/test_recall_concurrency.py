"""Recall while recipients are viewing: once the recall has committed, no request
that starts afterwards is shown the body, and every refusal is evidence."""
import threading
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging import recall as recall_module
from portal.messaging.reading import open_message
from portal.messaging.recall import recall_messages
from portal.models import (
    AccessEvidence,
    AuditLogEntry,
    Delivery,
    EvidenceKind,
    RecallSource,
    SecureMessage,
    User,
    ViewChannel,
)
from tests.support.factories import TEST_REQUEST, account_mode, send

READERS_PER_RECIPIENT = 2
ATTEMPTS = 200  # in all, across the readers
RECALL_AFTER = 60  # attempts, and a view of each delivery, before the recall starts
AT_LEAST_AFTER = 40  # attempts that start after the recall returned
DEADLINE_SECONDS = 30


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    started: float
    shown: bool


class Race:
    """Readers open the message again and again while one thread recalls it."""

    def __init__(self, app, message_id, sender_id, readers):
        self.app = app
        self.message_id = message_id
        self.sender_id = sender_id
        self.readers = readers  # (recipient id, delivery id) per reader thread
        self.deliveries = {delivery_id for _, delivery_id in readers}
        self.lock = threading.Lock()
        self.attempts = []
        self.errors = []
        self.recall_returned = None
        self.time_to_recall = threading.Event()
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def _enough(self):
        with self.lock:
            if self.recall_returned is None:
                return False
            after = [a for a in self.attempts if a.started > self.recall_returned]
            # Every delivery must be tried after the recall too: on a busy machine one
            # reader's threads can go a long while without being scheduled.
            return (len(self.attempts) >= ATTEMPTS and len(after) >= AT_LEAST_AFTER
                    and {a.delivery_id for a in after} == self.deliveries)

    def read(self, recipient_id, delivery_id):
        with self.app.app_context():
            try:
                while not self._enough() and time.monotonic() < self.deadline:
                    recipient = db.session.get(User, recipient_id)
                    delivery = db.session.get(Delivery, delivery_id)
                    started = time.monotonic()
                    access = open_message(recipient, delivery, ViewChannel.DIRECT_LINK,
                                          read_status_mode=account_mode(), request_info=TEST_REQUEST)
                    with self.lock:
                        self.attempts.append(Attempt(delivery_id, started, access.shown))
                        viewed = {a.delivery_id for a in self.attempts if a.shown}
                        if len(self.attempts) >= RECALL_AFTER and viewed == self.deliveries:
                            self.time_to_recall.set()
            except Exception as error:  # reported by the test, not lost in the thread
                self.errors.append(error)
            finally:
                db.session.remove()

    def recall(self):
        with self.app.app_context():
            try:
                if not self.time_to_recall.wait(DEADLINE_SECONDS):
                    raise AssertionError("the readers never got going")
                sender = db.session.get(User, self.sender_id)
                recall_messages(sender, [self.message_id], source=RecallSource.SENDER,
                                reason="Recalled mid-view", request_info=TEST_REQUEST)
                returned = time.monotonic()  # the recall has committed by now
                with self.lock:
                    self.recall_returned = returned
            except Exception as error:
                self.errors.append(error)
            finally:
                db.session.remove()

    def run(self):
        threads = [threading.Thread(target=self.read, args=reader) for reader in self.readers]
        threads.append(threading.Thread(target=self.recall))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE_SECONDS + 10)
        assert not any(thread.is_alive() for thread in threads), "a thread is stuck"


def evidence_kinds(delivery_ids):
    return db.session.execute(
        select(AccessEvidence.delivery_id, AccessEvidence.kind, AccessEvidence.occurred_at,
               AccessEvidence.details)
        .where(AccessEvidence.delivery_id.in_(delivery_ids),
               AccessEvidence.kind.in_([EvidenceKind.MESSAGE_VIEWED,
                                        EvidenceKind.ACCESS_REFUSED]))).all()


def test_no_attempt_after_the_recall_is_shown_the_body(app, people):
    alice = people["alice@example.com"]
    message, _ = send(alice, ["bob@partner.example", "erin@partner.example"])
    readers = [(d.recipient_id, d.id) for d in message.deliveries] * READERS_PER_RECIPIENT
    delivery_ids = [d.id for d in message.deliveries]
    race = Race(app, message.id, alice.id, readers)
    db.session.remove()  # the threads have the database to themselves

    race.run()

    assert race.errors == []
    assert race.recall_returned is not None
    shown = [a for a in race.attempts if a.shown]
    refused = [a for a in race.attempts if not a.shown]
    after = [a for a in race.attempts if a.started > race.recall_returned]
    assert len(race.attempts) >= ATTEMPTS
    assert {a.delivery_id for a in shown} == set(delivery_ids)  # both were reading
    assert len(after) >= AT_LEAST_AFTER
    assert [a for a in after if a.shown] == []

    # The database holds one piece of evidence per attempt: a view for each
    # attempt shown, a refusal (recalled) for each refused, nothing else.
    recalled_at = db.session.get(SecureMessage, message.id).recalled_at
    assert recalled_at is not None
    rows = evidence_kinds(delivery_ids)
    for delivery_id in delivery_ids:
        mine = [row for row in rows if row.delivery_id == delivery_id]
        views = [row for row in mine if row.kind is EvidenceKind.MESSAGE_VIEWED]
        refusals = [row for row in mine if row.kind is EvidenceKind.ACCESS_REFUSED]
        assert len(views) == sum(a.delivery_id == delivery_id for a in shown)
        assert len(refusals) == sum(a.delivery_id == delivery_id for a in refused)
        assert len(refusals) >= sum(a.delivery_id == delivery_id for a in after) > 0
        assert {row.details["reason"] for row in refusals} == {"recalled"}
        # Every view that was let through is dated before the recall.
        assert all(row.occurred_at <= recalled_at for row in views)

    entry = db.session.scalars(select(AuditLogEntry).where(
        AuditLogEntry.type == "Secure Messaging - Sender Recalled")).one()
    assert [r["read_before_recall"] for r in entry.details["recipients"]] == [True, True]


# --- One view racing one recall, with the interleaving forced ----------------------

PAUSE_SECONDS = 0.5  # how long a paused party waits for the other before going on


def _open_as_recipient(app, recipient_id, delivery_id, outcome):
    with app.app_context():
        try:
            access = open_message(db.session.get(User, recipient_id),
                                  db.session.get(Delivery, delivery_id),
                                  ViewChannel.DIRECT_LINK, read_status_mode=account_mode(), request_info=TEST_REQUEST)
            outcome["shown"] = access.shown
        except Exception as error:  # re-raised by the test
            outcome["error"] = error
        finally:
            db.session.remove()


@pytest.mark.parametrize("paused", ["recall-when-it-reads-the-clock",
                                    "view-after-its-status-check"])
def test_a_view_racing_a_recall_is_refused_or_counted_as_read_before_recall(
        app, people, monkeypatch, paused):
    """Whichever party is held up mid-way, the two never interleave: either the view
    is refused, or it is dated before the recall and counted as read before it."""
    alice = people["alice@example.com"]
    message, _ = send(alice, ["bob@partner.example"])
    message_id, alice_id = message.id, alice.id
    delivery_id, recipient_id = message.deliveries[0].id, message.deliveries[0].recipient_id
    db.session.remove()
    outcome = {}
    viewer = threading.Thread(target=_open_as_recipient,
                              args=(app, recipient_id, delivery_id, outcome))

    if paused == "recall-when-it-reads-the-clock":
        real_utcnow = recall_module.utcnow

        def clock_then_a_pause():
            moment = real_utcnow()
            viewer.start()  # the recipient's request runs while the recall is held up
            viewer.join(PAUSE_SECONDS)
            return moment

        monkeypatch.setattr(recall_module, "utcnow", clock_then_a_pause)
        recall_messages(db.session.get(User, alice_id), [message_id],
                        source=RecallSource.SENDER, request_info=TEST_REQUEST)
    else:
        checked, recalled = threading.Event(), threading.Event()
        real_status_at = SecureMessage.status_at

        def status_then_a_pause(self, now):
            status = real_status_at(self, now)
            if threading.current_thread() is viewer and not checked.is_set():
                checked.set()  # the recall runs while the view is held up
                recalled.wait(PAUSE_SECONDS)
            return status

        monkeypatch.setattr(SecureMessage, "status_at", status_then_a_pause)
        viewer.start()
        assert checked.wait(10)
        recall_messages(db.session.get(User, alice_id), [message_id],
                        source=RecallSource.SENDER, request_info=TEST_REQUEST)
        recalled.set()
    viewer.join(10)
    monkeypatch.undo()
    assert not viewer.is_alive()
    if "error" in outcome:
        raise outcome["error"]

    db.session.remove()
    recalled_at = db.session.get(SecureMessage, message_id).recalled_at
    entry = db.session.scalars(select(AuditLogEntry).where(
        AuditLogEntry.type == "Secure Messaging - Sender Recalled")).one()
    [bob] = entry.details["recipients"]
    rows = db.session.execute(select(AccessEvidence.kind, AccessEvidence.occurred_at).where(
        AccessEvidence.delivery_id == delivery_id,
        AccessEvidence.kind.in_([EvidenceKind.MESSAGE_VIEWED, EvidenceKind.ACCESS_REFUSED]))
    ).all()
    assert recalled_at is not None
    if outcome["shown"]:
        assert [kind for kind, _ in rows] == [EvidenceKind.MESSAGE_VIEWED]
        assert rows[0].occurred_at <= recalled_at
        assert bob["read_before_recall"] is True
    else:
        assert [kind for kind, _ in rows] == [EvidenceKind.ACCESS_REFUSED]
        assert bob["read_before_recall"] is False
