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
from ..models import SecureMessage
from ..models.body_encryption import DERIVED_KEY_ID, key_ring


@dataclass
class ReEncryptionReport:
    changed: int
    current_key_id: str
    keys_in_use: list[str]  # after the run; only the current one once every process agrees
    unused_key_ids: list[str]  # configured in MESSAGE_KEYS, and no body needs them now


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
    keys_in_use = sorted(db.session.scalars(select(SecureMessage.body_key_id).distinct()))
    db.session.commit()
    unused = sorted(set(ring.keys) - set(keys_in_use) - {DERIVED_KEY_ID})
    return ReEncryptionReport(changed=changed, current_key_id=ring.current_id,
                              keys_in_use=keys_in_use, unused_key_ids=unused)
