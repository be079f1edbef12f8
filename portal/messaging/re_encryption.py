"""Key rotation: moving every message body onto the current key, while the portal runs.

Each batch is its own short transaction, so readers and senders never wait
long; they keep working throughout because every old key stays configured
until this has finished. Bodies never change after sending, so the only
concurrent writer is another run of this, and the update's key-id guard makes
that harmless.
"""
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ..extensions import db
from ..models import OutboxEmail, OutboxStatus, SecureMessage
from ..models.body_encryption import DERIVED_KEY_ID, BodyDecryptionError, key_ring
from ..models.types import utcnow
from ..notifications.outbox import (
    CONTENT_FAILED_AUTHENTICATION,
    REMOVED_CONTENT,
    record_cancelled,
)


@dataclass
class ReEncryptionReport:
    changed: int
    current_key_id: str
    keys_in_use: list[str]  # after the run; only the current one once every process agrees
    unused_key_ids: list[str]  # configured in MESSAGE_KEYS, and no body needs them now
    emails_changed: int = 0  # outbox emails not yet handed over, moved to the current key
    # Outbox emails whose content failed authentication (altered in the database):
    # cancelled, never to be sent, so they do not hold an old key in use.
    emails_cancelled: list[int] = field(default_factory=list)


def re_encrypt_bodies(batch_size=500):
    """Re-encrypt every body not under MESSAGE_KEY_ID with it; returns a report."""
    ring = key_ring()
    changed, after_id = 0, 0
    while True:
        try:
            rows = db.session.execute(
                select(SecureMessage.id, SecureMessage.body_key_id,
                       SecureMessage.body_ciphertext)
                .where(SecureMessage.id > after_id,
                       SecureMessage.body_key_id != ring.current_id)
                .order_by(SecureMessage.id).limit(batch_size)).all()
            for message_id, key_id, stored in rows:
                plaintext = ring.decrypt(key_id, stored,
                                         where=f"the body of secure message {message_id}")
                new_key_id, new_stored = ring.encrypt(plaintext)
                result = db.session.execute(
                    update(SecureMessage)
                    .where(SecureMessage.id == message_id, SecureMessage.body_key_id == key_id)
                    .values(body_key_id=new_key_id, body_ciphertext=new_stored)
                    .execution_options(synchronize_session=False))
                changed += result.rowcount
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if len(rows) < batch_size:
            break
        after_id = rows[-1].id
    emails_changed, emails_cancelled = _re_encrypt_waiting_emails(ring)
    # Emails not yet handed over hold their content under a key too.
    keys_in_use = sorted(set(db.session.scalars(select(SecureMessage.body_key_id).distinct()))
                         | set(db.session.scalars(select(OutboxEmail.content_key_id).where(
                             OutboxEmail.content_key_id.is_not(None)).distinct())))
    db.session.commit()
    unused = sorted(set(ring.keys) - set(keys_in_use) - {DERIVED_KEY_ID})
    return ReEncryptionReport(changed=changed, current_key_id=ring.current_id,
                              keys_in_use=keys_in_use, unused_key_ids=unused,
                              emails_changed=emails_changed,
                              emails_cancelled=emails_cancelled)


def _re_encrypt_waiting_emails(ring):
    """Outbox emails still holding content (not yet handed over) move to the current key.

    Few at any time: once the SMTP server has an email its content is removed.
    The guard on the old key id leaves alone an email a worker removed meanwhile.
    An email whose content fails authentication could never be sent (the worker
    would fail it at every attempt) and would keep its old key in use: it is
    cancelled, its content removed, and its id reported. Returns (changed, cancelled ids).
    """
    changed, cancelled = 0, []
    try:
        for email in db.session.scalars(select(OutboxEmail).where(
                OutboxEmail.content_key_id.is_not(None),
                OutboxEmail.content_key_id != ring.current_id)).all():
            try:
                text, html = email.text_body, email.html_body
            except BodyDecryptionError:
                if _cancel_unreadable(email):
                    cancelled.append(email.id)
                continue
            key_id, text = ring.encrypt(text, purpose=email.content_purpose("text"))
            if html is not None:
                html = ring.encrypt(html, purpose=email.content_purpose("html"))[1]
            changed += db.session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == email.id,
                       OutboxEmail.content_key_id == email.content_key_id)
                .values({OutboxEmail.content_key_id: key_id,
                         OutboxEmail.text_body_ciphertext: text,
                         OutboxEmail.html_body_ciphertext: html})
                .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return changed, cancelled


def _cancel_unreadable(email):
    """Cancel an email whose content fails authentication; its content goes either way.

    One the server already has (only the Dev mailbox keeps content then) stays sent.
    """
    outcome = dict(REMOVED_CONTENT)
    if email.status is not OutboxStatus.SENT:
        outcome.update({OutboxEmail.status: OutboxStatus.CANCELLED,
                        OutboxEmail.last_error: CONTENT_FAILED_AUTHENTICATION,
                        OutboxEmail.locked_by: None})
    changed = db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email.id, OutboxEmail.status == email.status,
               OutboxEmail.content_key_id == email.content_key_id)
        .values(outcome)
        .execution_options(synchronize_session=False)).rowcount == 1
    if changed and email.status is not OutboxStatus.SENT:
        record_cancelled("content failed authentication", utcnow(), OutboxEmail.id == email.id)
    return changed
