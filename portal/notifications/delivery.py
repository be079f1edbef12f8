"""The outbox worker: takes emails from the outbox and delivers them.

- Claiming is a conditional UPDATE (`status = pending`), so two workers, on
  PostgreSQL or SQLite, never take the same email.
- A failed attempt puts the email back with a doubling delay (capped); it is
  never dropped.
- `handed_over_at` is committed just before the message data goes to the
  server. A worker that stops after that point may have delivered the email,
  so a later worker marks it sent instead of sending it again; a worker that
  stops before it leaves an email that is safely sent again.
- Any failure is per email: an email that cannot even be built (a line break
  in a header written straight into the table) fails alone, counts toward
  OUTBOX_MAX_ATTEMPTS like a refusal, and ends `failed`.
- A notification is not sent once its secure message is recalled or expired:
  the worker looks when it takes the email, and the hand-over itself is a
  conditional UPDATE that a recall's cancel (also conditional, on
  `handed_over_at IS NULL`) cannot interleave with. Whichever commits first
  wins; the other leaves the row as it is.
- Every write a worker makes after its claim (hand-over, sent, retry, cancel)
  is conditional on the email still being `sending` and held by that worker.
  A worker whose lease ran out finds the email taken back and leaves it to the
  worker that has it; a late retry never turns a recall's cancel back into
  `pending`.
- An email whose content is gone (cancelled, or handed over) is never sent: it
  would reach the recipient empty. Found waiting, it fails.
- Once the server has an email its content (the personal link) is removed;
  the Dev mailbox keeps it, being the mailbox itself.
"""
import logging
import socket
import threading
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, or_, select, update

from ..extensions import db
from ..models import Delivery, EmailKind, OutboxEmail, OutboxStatus, SecureMessage, utcnow
from .outbox import CANCELLED_BECAUSE, CONTENT_REMOVED, REMOVED_CONTENT, record_cancelled
from .transports import TransportError, transport_for

log = logging.getLogger(__name__)


def new_worker_id():
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def retry_delay(attempts, config):
    base = config["OUTBOX_RETRY_BASE_SECONDS"]
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0),
                                 config["OUTBOX_RETRY_MAX_SECONDS"]))


class NotToBeSent(Exception):
    """The hand-over found the email cancelled, or its message ended: no data goes out."""


def _message_ended(now):
    """True for a notification whose secure message is recalled or expired at `now`."""
    return (OutboxEmail.kind == EmailKind.NOTIFICATION) & exists().where(
        Delivery.id == OutboxEmail.delivery_id, SecureMessage.id == Delivery.message_id,
        or_(SecureMessage.recalled_at.is_not(None), SecureMessage.expires_at <= now))


def _ending_of(email, now):
    """Why this email must not go out now ("recalled"/"expired"), or None."""
    if email.kind is not EmailKind.NOTIFICATION or email.delivery_id is None:
        return None
    row = db.session.execute(
        select(SecureMessage.recalled_at, SecureMessage.expires_at)
        .join(Delivery, Delivery.message_id == SecureMessage.id)
        .where(Delivery.id == email.delivery_id)).first()
    if row is None:
        return None
    if row.recalled_at is not None:
        return "recalled"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return None


def release_abandoned(now=None, keep_content=False):
    """Take back emails whose worker stopped mid-way (its lease ran out)."""
    now = now or utcnow()
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    stale = (OutboxEmail.status == OutboxStatus.SENDING) & (OutboxEmail.locked_at < now - lease)
    handed_over = db.session.execute(
        update(OutboxEmail)
        .where(stale, OutboxEmail.handed_over_at.is_not(None))
        .values({OutboxEmail.status: OutboxStatus.SENT,
                 OutboxEmail.sent_at: OutboxEmail.handed_over_at, OutboxEmail.locked_by: None,
                 OutboxEmail.last_error: "worker stopped after handing the email to the "
                                         "server; treated as delivered, not sent again",
                 **({} if keep_content else REMOVED_CONTENT)})
    ).rowcount
    returned = db.session.execute(
        update(OutboxEmail).where(stale, OutboxEmail.handed_over_at.is_(None))
        .values(status=OutboxStatus.PENDING, next_attempt_at=now, locked_by=None)
    ).rowcount
    db.session.commit()
    return handed_over, returned


def claim(worker_id, limit, now=None, exclude=()):
    """Claim up to `limit` due emails for this worker; returns their ids."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(OutboxEmail.id)
        .where(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.next_attempt_at <= now,
               OutboxEmail.id.not_in(exclude))
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(limit)
    ).all()
    db.session.rollback()  # end the read before writing, so no snapshot is held
    claimed = []
    for email_id in candidates:
        taken = db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == email_id, OutboxEmail.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENDING, locked_at=now, locked_by=worker_id,
                    attempts=OutboxEmail.attempts + 1)
        ).rowcount
        db.session.commit()
        if taken == 1:
            claimed.append(email_id)
    return claimed


def _held_by(email_id, worker_id):
    """The email is still this worker's to settle: `sending`, and held by it.

    Every write the worker makes after its claim is conditional on this, so a
    recall's cancel, or another worker that took the email back once the lease
    ran out, is never overwritten by a worker that comes late.
    """
    return (OutboxEmail.id == email_id, OutboxEmail.status == OutboxStatus.SENDING,
            OutboxEmail.locked_by == worker_id)


def _deliver_one(email_id, worker_id, transport, config, now=None):
    """True if delivered, False if it will be retried (or has failed), None if not ours to
    send (cancelled, or taken back by another worker)."""
    now = now or utcnow()
    email = db.session.get(OutboxEmail, email_id, populate_existing=True)
    if email.status is not OutboxStatus.SENDING or email.locked_by != worker_id:
        return None  # recalled, or taken back by another worker, since the claim
    ending = _ending_of(email, now)
    if ending:
        _cancel(email_id, worker_id, ending, now)
        return None
    if email.content_removed:
        # Its personal link is gone: sending it would mail the recipient an empty email.
        _settle(email_id, worker_id, {OutboxEmail.status: OutboxStatus.FAILED,
                                      OutboxEmail.last_error: CONTENT_REMOVED})
        return False

    def before_final_step():
        handed = db.session.execute(
            update(OutboxEmail)
            .where(*_held_by(email_id, worker_id), OutboxEmail.handed_over_at.is_(None),
                   ~_message_ended(now))
            .values(handed_over_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if handed != 1:
            raise NotToBeSent(email_id)

    try:
        transport.deliver(email, before_final_step)
    except NotToBeSent:
        db.session.rollback()
        # Cancelled by a recall, or taken back by another worker: theirs, left alone.
        # Held still, its message has ended (expired since the claim): cancel it.
        ending = _ending_of(email, now)
        if ending:
            _cancel(email_id, worker_id, ending, now)
        return None
    except Exception as error:
        db.session.rollback()
        return False if _retry_later(email_id, worker_id, error, config, now) else None
    mark_sent(email_id, worker_id, keep_content=getattr(transport, "keeps_content", False))
    return True


def _settle(email_id, worker_id, outcome):
    """Write the outcome if this worker still holds the email; True if it did."""
    settled = db.session.execute(
        update(OutboxEmail).where(*_held_by(email_id, worker_id))
        .values({OutboxEmail.locked_by: None, **outcome})
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return settled == 1


def _cancel(email_id, worker_id, ending, now):
    """Cancel the email for its message's ending, with the evidence, if still held."""
    cancelled = db.session.execute(
        update(OutboxEmail).where(*_held_by(email_id, worker_id))
        .values({OutboxEmail.status: OutboxStatus.CANCELLED, OutboxEmail.locked_by: None,
                 OutboxEmail.last_error: CANCELLED_BECAUSE[ending], **REMOVED_CONTENT})
        .execution_options(synchronize_session=False)).rowcount == 1
    if cancelled:
        record_cancelled(ending, now, OutboxEmail.id == email_id)
    db.session.commit()
    return cancelled


def _retry_later(email_id, worker_id, error, config, now):
    """Put a failed email back with a growing delay, or fail it at the attempt limit.

    False if the email was no longer this worker's (recalled, or taken back)."""
    attempts = db.session.scalar(select(OutboxEmail.attempts).where(OutboxEmail.id == email_id))
    reason = str(error) if isinstance(error, TransportError) else (
        f"{type(error).__name__}: {error}")
    outcome = {OutboxEmail.handed_over_at: None, OutboxEmail.last_error: reason[:1000]}
    if attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        outcome[OutboxEmail.status] = OutboxStatus.FAILED
    else:
        outcome[OutboxEmail.status] = OutboxStatus.PENDING
        outcome[OutboxEmail.next_attempt_at] = now + retry_delay(attempts, config)
    if not _settle(email_id, worker_id, outcome):
        log.info("outbox email %s not delivered (%s); left as it is: recalled, or taken "
                 "back by another worker", email_id, reason)
        return False
    log.warning("outbox email %s not delivered (attempt %s): %s", email_id, attempts, reason)
    return True


def mark_sent(email_id, worker_id, keep_content=False):
    """The server has the email. If the lease ran out meanwhile, the worker that took
    it back found it handed over and has marked it sent already."""
    return _settle(email_id, worker_id, {
        OutboxEmail.status: OutboxStatus.SENT, OutboxEmail.sent_at: utcnow(),
        OutboxEmail.last_error: None, **({} if keep_content else REMOVED_CONTENT)})


def deliver_due(worker_id=None, now=None, transport=None):
    """One pass: take back abandoned emails, then deliver what is due. Returns (sent, failed)."""
    config = current_app.config
    worker_id = worker_id or new_worker_id()
    transport = transport or transport_for(config)
    release_abandoned(now, keep_content=getattr(transport, "keeps_content", False))
    sent = failed = 0
    tried = set()  # one attempt per email per pass, however short the retry delay
    while True:
        batch = claim(worker_id, config["OUTBOX_BATCH_SIZE"], now, exclude=tried)
        if not batch:
            return sent, failed
        tried.update(batch)
        for email_id in batch:
            delivered = _deliver_one(email_id, worker_id, transport, config, now)
            if delivered:
                sent += 1
            elif delivered is False:
                failed += 1


def run_worker(app, stop_event, worker_id=None):
    """Deliver until `stop_event` is set, polling the outbox."""
    worker_id = worker_id or new_worker_id()
    with app.app_context():
        transport = transport_for(app.config)
        log.info("outbox worker %s delivering via %s", worker_id, transport.name)
        while not stop_event.is_set():
            try:
                deliver_due(worker_id, transport=transport)
            except Exception:  # a database hiccup must not end the worker
                db.session.rollback()
                log.exception("outbox worker pass failed; trying again")
            finally:
                db.session.remove()
            stop_event.wait(app.config["OUTBOX_POLL_SECONDS"])


def start_worker_thread(app):
    stop_event = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop_event), daemon=True,
                              name="outbox-worker")
    thread.start()
    return thread, stop_event
