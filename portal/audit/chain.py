"""The audit log's hash chain: appending in order, and checking it.

Each entry's `entry_hash` is an HMAC (key from configuration, never in the
database) over its content and the previous entry's hash. Appending locks the
chain head, so concurrent writers wait their turn instead of forking the
chain, on PostgreSQL (row lock) and SQLite (write lock) alike. `verify_chain`
walks the whole log and names the first entry that was edited, deleted,
reordered or inserted.

Cutting off the newest entries leaves a shorter chain that is valid in itself,
so the end of the chain is vouched for separately: the head row carries a
checkpoint record sealed with the audit key (a database writer without the key
cannot roll it back to an earlier position it has not seen), and checkpoints
kept outside the database (`flask audit checkpoint`, or every
AUDIT_CHECKPOINT_EVERY entries to AUDIT_CHECKPOINT_PATH) prove how far the
chain reached even against someone holding the key or an old copy of the head.
"""
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditChainHead, AuditLogEntry, utcnow
from ..models.sql import lock_rows
from .checkpoint import Checkpoint, append_checkpoint, key_id

log = logging.getLogger(__name__)

GENESIS = "0" * 64
_WRITER = "audit_chain_writer"


def chain_key():
    configured = current_app.config.get("AUDIT_HMAC_KEY")
    if configured:
        return configured.encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"secure-messaging-portal audit chain", hashlib.sha256).digest()


def details_json(details):
    """Details in the one fixed JSON form the hash covers."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_header(category, type_, actor_id, actor_email, occurred_at, ip, user_agent):
    return json.dumps([
        category, type_, actor_id, actor_email,
        occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        ip, user_agent,
    ], separators=(",", ":"), ensure_ascii=True)


def canonical_content(category, type_, actor_id, actor_email, occurred_at, ip, user_agent,
                      details):
    """The bytes an entry's hash covers: exactly what is stored, in a fixed form."""
    header = canonical_header(category, type_, actor_id, actor_email, occurred_at, ip,
                              user_agent)
    return join_content(header, details_json(details))


def join_content(header, serialized_details):
    return f"{header}\n{serialized_details}".encode()


def entry_hash(key, content, previous_hash):
    return hmac.new(key, content + previous_hash.encode(), hashlib.sha256).hexdigest()


def head_checkpoint(head):
    """The head row's seal as a checkpoint record."""
    return Checkpoint(seq=head.last_seq, hash=head.last_hash, at=head.sealed_at,
                      key_id=head.key_id, mac=head.seal)


def seal_head(head, key, at=None):
    """Set the head row's position and seal it (the same record a checkpoint file holds)."""
    record = Checkpoint.sealed(key, head.last_seq, head.last_hash, at or utcnow())
    head.sealed_at, head.key_id, head.seal = record.at, record.key_id, record.mac
    return record


def genesis_head():
    """The values of a sealed head for an empty chain (a new or emptied database)."""
    record = Checkpoint.sealed(chain_key(), 0, GENESIS, utcnow())
    return {"id": AuditChainHead.SINGLETON_ID, "last_seq": 0, "last_hash": GENESIS,
            "sealed_at": record.at, "key_id": record.key_id, "seal": record.mac}


def head_is_sealed(head, key):
    record = head_checkpoint(head)
    return record.key_id == key_id(key) and record.authentic(key)


class ChainWriter:
    """Hands out chain positions and hashes within one transaction."""

    def __init__(self, head, key, broken_seal):
        self.head = head
        self.key = key
        self.seq, self.hash = head.last_seq, head.last_hash
        self.first_seq = head.last_seq
        # A head whose seal did not check out is never sealed again: sealing it
        # would vouch for a chain that may have been cut short. It stays broken
        # (verify_chain says so) however many entries follow.
        self.broken_seal = broken_seal
        self.sealed = None

    def link(self, content):
        """(chain_seq, previous_hash, entry_hash) for the next entry."""
        previous = self.hash
        self.hash = entry_hash(self.key, content, previous)
        self.seq += 1
        return self.seq, previous, self.hash

    def save_head(self):
        """Write the new end of the chain to the head row and seal it (once per batch)."""
        self.head.last_seq, self.head.last_hash = self.seq, self.hash
        if not self.broken_seal:
            self.sealed = seal_head(self.head, self.key)

    def passed_checkpoint(self, every):
        """Whether this transaction's entries crossed a multiple of `every`."""
        return bool(every) and self.sealed is not None and \
            self.first_seq // every != self.seq // every


def chain_writer():
    """The transaction's chain writer, locking the chain head on first use.

    The head stays locked until the transaction ends, so concurrent writers
    append one after the other and the entries of one transaction are
    consecutive.
    """
    session = db.session()
    writer = session.info.get(_WRITER)
    if writer is None:
        lock_rows(AuditChainHead, [AuditChainHead.SINGLETON_ID])
        head = db.session.get(AuditChainHead, AuditChainHead.SINGLETON_ID,
                              populate_existing=True)
        key = chain_key()
        if head is None:  # created by the migration; only a damaged database lacks it
            head = AuditChainHead(**genesis_head())
            head.seal = ""  # a replaced head vouches for nothing
            db.session.add(head)
        broken_seal = not head_is_sealed(head, key)
        # A row planted past the head must not stop the portal writing its log:
        # step over it (verify_chain still names it).
        top = db.session.scalar(select(func.max(AuditLogEntry.chain_seq))) or 0
        head.last_seq = max(head.last_seq, top)
        writer = session.info[_WRITER] = ChainWriter(head, key, broken_seal)
    return writer


@event.listens_for(Session, "after_commit")
def _write_checkpoint(session):
    """Every AUDIT_CHECKPOINT_EVERY entries, the committed head goes to the checkpoint file."""
    writer = session.info.get(_WRITER)
    if writer is None:
        return
    path = current_app.config.get("AUDIT_CHECKPOINT_PATH")
    if path and writer.passed_checkpoint(current_app.config.get("AUDIT_CHECKPOINT_EVERY")):
        try:
            append_checkpoint(path, writer.sealed)
        except OSError:
            # The entries are committed; a missed checkpoint must not fail the
            # action. `flask audit checkpoint` from cron covers the gap.
            log.exception("could not append the audit checkpoint to %s", path)


@event.listens_for(Session, "after_transaction_end")
def _forget_writer(session, transaction):
    if transaction.parent is None:
        session.info.pop(_WRITER, None)


def current_checkpoint():
    """The committed end of the chain as a checkpoint record, once its seal and its
    last entry check out; ValueError says why not (a damaged head is not vouched for)."""
    key = chain_key()
    head = db.session.get(AuditChainHead, AuditChainHead.SINGLETON_ID, populate_existing=True)
    if head is None:
        raise ValueError("the audit chain head is missing")
    record = head_checkpoint(head)
    if not head_is_sealed(head, key):
        raise ValueError("the audit chain head's seal does not match; run `flask audit "
                         "verify`")
    last = db.session.scalar(select(AuditLogEntry.entry_hash)
                             .where(AuditLogEntry.chain_seq == head.last_seq))
    if head.last_seq and last != head.last_hash:
        raise ValueError("the audit chain head does not match the last entry; run "
                         "`flask audit verify`")
    return record


@dataclass
class ChainReport:
    ok: bool
    checked: int
    problem: str | None = None
    entry_id: int | None = None
    chain_seq: int | None = None
    # Checkpoints from outside the database that the chain was found to reach.
    checkpoints: int = 0
    newest_checkpoint: int | None = None


def verify_chain(batch=1000, checkpoints=()):
    """Walk the chain in order; the first broken link is named, else ok.

    Then the end of the chain: the head row must carry a valid seal and point at
    the last entry, and the chain must reach every given checkpoint (records read
    from a checkpoint file) with the same hash at that position.
    """
    key = chain_key()
    head = db.session.get(AuditChainHead, AuditChainHead.SINGLETON_ID)
    wanted = {}
    for record in checkpoints:
        if record.key_id != key_id(key):
            return ChainReport(False, checked=0, problem=(
                f"{record.where} was made with another audit key (key id {record.key_id}, "
                f"this portal's is {key_id(key)})"))
        if not record.authentic(key):
            return ChainReport(False, checked=0, problem=(
                f"{record.where} is not authentic: its mac does not match its content"))
        wanted.setdefault(record.seq, []).append(record)
    expected_seq, previous, checked = 1, GENESIS, 0
    rows = db.session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.chain_seq)
                              .execution_options(yield_per=batch))
    for entry in rows:
        content = canonical_content(entry.category, entry.type, entry.actor_id,
                                    entry.actor_email, entry.occurred_at, entry.ip,
                                    entry.user_agent, entry.details)
        authentic = hmac.compare_digest(entry_hash(key, content, entry.previous_hash),
                                        entry.entry_hash)
        where = {"entry_id": entry.id, "chain_seq": entry.chain_seq, "checked": checked}
        if head is not None and entry.chain_seq > head.last_seq:
            return ChainReport(False, problem=f"entry {entry.id} was inserted after the end of "
                               "the chain", **where)
        if entry.chain_seq > expected_seq:
            return ChainReport(False, problem=f"entries before entry {entry.id} were deleted "
                               f"(positions {expected_seq} to {entry.chain_seq - 1} are missing)",
                               **where)
        if not authentic:
            if entry.previous_hash == previous:
                return ChainReport(False, problem=f"entry {entry.id} was edited", **where)
            return ChainReport(False, problem=f"entry {entry.id} was inserted: its hash does "
                               "not match its content", **where)
        if entry.previous_hash != previous:
            return ChainReport(False, problem=f"entry {entry.id} is out of order: the chain "
                               "was reordered here", **where)
        for record in wanted.get(entry.chain_seq, ()):
            if record.hash != entry.entry_hash:
                return ChainReport(False, problem=(
                    f"entry {entry.id} differs from {record.where} ({record.describe()}): "
                    "the chain was rewritten from there on"), **where)
        previous, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
    end = expected_seq - 1
    problem = _end_problem(key, head, end, previous) or _checkpoint_problem(wanted, end)
    if problem:
        return ChainReport(False, checked=checked, problem=problem)
    return ChainReport(True, checked=checked, checkpoints=sum(map(len, wanted.values())),
                       newest_checkpoint=max(wanted, default=None))


def _end_problem(key, head, end, last_hash):
    """What is wrong with the head row, if anything: missing, unsealed, or not the end."""
    if head is None:
        return "the chain head is missing, so where the chain ends cannot be checked"
    if not head_is_sealed(head, key):
        return ("the chain head's seal does not match it: the head was rolled back, replaced "
                f"or edited outside the portal (it now says position {head.last_seq}), so "
                "the newest entries may have been deleted")
    if head.last_seq != end or head.last_hash != last_hash:
        return (f"the last entries of the chain were deleted (the chain ends at position "
                f"{end}, its sealed head says {head.last_seq})")
    return None


def _checkpoint_problem(wanted, end):
    beyond = [record for seq in sorted(wanted) if seq > end for record in wanted[seq]]
    if not beyond:
        return None
    furthest = beyond[-1]
    return (f"the chain ends at position {end} but {furthest.where} shows it reached "
            f"{furthest.describe()}: the entries after position {end} were deleted")
