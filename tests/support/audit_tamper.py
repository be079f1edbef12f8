"""Ways to tamper with the audit log, for the tests that must catch them."""
from sqlalchemy import func, select, text

from portal.audit.service import record_audit
from portal.extensions import db
from portal.models import AuditLogEntry

from .factories import TEST_REQUEST


def write_entries(count, start=0):
    for n in range(start, start + count):
        record_audit("Account Logs", "Account - Test Entry", actor_email="qa@example.com",
                     request_info=TEST_REQUEST, details={"n": n, "note": f"entry {n}"})
        db.session.commit()


def entry_at(seq):
    return db.session.scalar(select(AuditLogEntry).where(AuditLogEntry.chain_seq == seq))


def sql(statement, **params):
    db.session.execute(text(statement), params)
    db.session.commit()
    db.session.expire_all()


def tamper_edit():
    entry = entry_at(4)
    sql("UPDATE audit_log_entries SET actor_email = 'someone.else@example.com' WHERE id = :id",
        id=entry.id)
    return entry.id, "was edited"


def tamper_delete():
    after = entry_at(5)
    sql("DELETE FROM audit_log_entries WHERE chain_seq = 4")
    return after.id, "were deleted"


def tamper_reorder():
    fourth, fifth = entry_at(4), entry_at(5)
    sql("UPDATE audit_log_entries SET chain_seq = -1 WHERE id = :id", id=fourth.id)
    sql("UPDATE audit_log_entries SET chain_seq = 4 WHERE id = :id", id=fifth.id)
    sql("UPDATE audit_log_entries SET chain_seq = 5 WHERE id = :id", id=fourth.id)
    return fifth.id, "out of order"


def tamper_insert():
    end = db.session.scalar(select(func.max(AuditLogEntry.chain_seq)))
    last = entry_at(end)
    sql("INSERT INTO audit_log_entries (category, type, actor_email, occurred_at, details, "
        "chain_seq, previous_hash, entry_hash) SELECT category, 'Account - Forged', "
        "actor_email, occurred_at, details, :seq, entry_hash, :fake FROM audit_log_entries "
        "WHERE id = :id", id=last.id, seq=end + 1, fake="f" * 64)
    forged = entry_at(end + 1)
    return forged.id, "inserted"


TAMPERINGS = {"edit": tamper_edit, "delete": tamper_delete, "reorder": tamper_reorder,
              "insert": tamper_insert}


# -- cutting off the tail: a chain that is valid in itself, only shorter ---------------------

def tamper_truncate(keep=5):
    """Delete the newest entries and set the chain head back to the last one left,
    as a database writer without the audit key would."""
    last = entry_at(keep)
    sql("DELETE FROM audit_log_entries WHERE chain_seq > :keep", keep=keep)
    sql("UPDATE audit_chain_head SET last_seq = :seq, last_hash = :hash WHERE id = 1",
        seq=keep, hash=last.entry_hash)


def copy_of_head():
    """The head row as it is now (a backup, a replica, an earlier read)."""
    return dict(db.session.execute(text("SELECT * FROM audit_chain_head WHERE id = 1"))
                .mappings().one())


def tamper_replay_head(old_head):
    """Delete the entries written since `old_head` was copied, and put that copy back:
    its seal is genuine, so only a checkpoint kept elsewhere can tell."""
    sql("DELETE FROM audit_log_entries WHERE chain_seq > :keep", keep=old_head["last_seq"])
    sql("UPDATE audit_chain_head SET last_seq = :last_seq, last_hash = :last_hash, "
        "sealed_at = :sealed_at, key_id = :key_id, seal = :seal WHERE id = 1", **old_head)
