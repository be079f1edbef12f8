"""The audit log's hash chain: appending in order, and checking it.

Each entry's `entry_hash` is an HMAC (key from configuration, never in the
database) over its content and the previous entry's hash. Appending locks the
chain head, so concurrent writers wait their turn instead of forking the
chain, on PostgreSQL (row lock) and SQLite (write lock) alike. `verify_chain`
walks the whole log and names the first entry that was edited, deleted,
reordered or inserted.
"""
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timezone

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditChainHead, AuditLogEntry
from ..models.sql import lock_rows

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
        occurred_at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
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


class ChainWriter:
    """Hands out chain positions and hashes within one transaction."""

    def __init__(self, head):
        self.head = head
        self.key = chain_key()
        self.seq, self.hash = head.last_seq, head.last_hash

    def link(self, content):
        """(chain_seq, previous_hash, entry_hash) for the next entry."""
        previous = self.hash
        self.hash = entry_hash(self.key, content, previous)
        self.seq += 1
        return self.seq, previous, self.hash

    def save_head(self):
        """Write the new end of the chain to the head row (once per batch, not per entry)."""
        self.head.last_seq, self.head.last_hash = self.seq, self.hash


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
        if head is None:  # created by the migration; only a damaged database lacks it
            head = AuditChainHead(id=AuditChainHead.SINGLETON_ID, last_seq=0,
                                  last_hash=GENESIS)
            db.session.add(head)
        # A row planted past the head must not stop the portal writing its log:
        # step over it (verify_chain still names it).
        top = db.session.scalar(select(func.max(AuditLogEntry.chain_seq))) or 0
        head.last_seq = max(head.last_seq, top)
        writer = session.info[_WRITER] = ChainWriter(head)
    return writer


@event.listens_for(Session, "after_transaction_end")
def _forget_writer(session, transaction):
    if transaction.parent is None:
        session.info.pop(_WRITER, None)


@dataclass
class ChainReport:
    ok: bool
    checked: int
    problem: str | None = None
    entry_id: int | None = None
    chain_seq: int | None = None


def verify_chain(batch=1000):
    """Walk the chain in order; the first broken link is named, else ok."""
    key = chain_key()
    head = db.session.get(AuditChainHead, AuditChainHead.SINGLETON_ID)
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
        previous, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != previous):
        return ChainReport(False, checked=checked,
                           problem="the last entries of the chain were deleted")
    return ChainReport(True, checked=checked)
