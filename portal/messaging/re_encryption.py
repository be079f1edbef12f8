"""Key rotation: moving every message body onto the current key, while the portal runs.

Each batch is its own short transaction, so readers and senders never wait
long; they keep working throughout because every old key stays configured
until this has finished. Bodies never change after sending, so the only
concurrent writer is another run of this, and the update's key-id guard makes
that harmless.
"""
from dataclasses import dataclass

from sqlalchemy import select, update

from ..extensions import db
from ..models import OutboxEmail, SecureMessage
from ..models.body_encryption import DERIVED_KEY_ID, key_ring


@dataclass
class ReEncryptionReport:
    changed: int
    current_key_id: str
    keys_in_use: list[str]  # after the run; only the current one once every process agrees
    unused_key_ids: list[str]  # configured in MESSAGE_KEYS, and no body needs them now
    emails_changed: int = 0  # outbox emails not yet handed over, moved to the current key


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
    emails_changed = _re_encrypt_waiting_emails(ring)
    # Emails not yet handed over hold their content under a key too.
    keys_in_use = sorted(set(db.session.scalars(select(SecureMessage.body_key_id).distinct()))
                         | set(db.session.scalars(select(OutboxEmail.content_key_id).where(
                             OutboxEmail.content_key_id.is_not(None)).distinct())))
    db.session.commit()
    unused = sorted(set(ring.keys) - set(keys_in_use) - {DERIVED_KEY_ID})
    return ReEncryptionReport(changed=changed, current_key_id=ring.current_id,
                              keys_in_use=keys_in_use, unused_key_ids=unused,
                              emails_changed=emails_changed)


def _re_encrypt_waiting_emails(ring):
    """Outbox emails still holding content (not yet handed over) move to the current key.

    Few at any time: once the SMTP server has an email its content is removed.
    The guard on the old key id leaves alone an email a worker removed meanwhile.
    """
    changed = 0
    try:
        for email in db.session.scalars(select(OutboxEmail).where(
                OutboxEmail.content_key_id.is_not(None),
                OutboxEmail.content_key_id != ring.current_id)).all():
            html = email.html_body
            key_id, text = ring.encrypt(email.text_body, purpose=email.content_purpose("text"))
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
    return changed
