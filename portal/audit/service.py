"""Writing audit log entries.

Entries are added to the caller's transaction, so an entry and the action it
records commit together or not at all. No code path updates or deletes one.
"""
import json

from sqlalchemy import bindparam, text

from ..extensions import db
from ..models import AuditLogEntry, utcnow
from ..models.types import UTCDateTime
from .chain import (
    canonical_content,
    canonical_header,
    chain_writer,
    details_json,
    join_content,
)


def record_audit(category, type_, *, actor=None, actor_email=None, request_info=None,
                 details=None, occurred_at=None):
    """Append one entry to the audit chain, in the caller's transaction."""
    values = {
        "category": category,
        "type": type_,
        "actor_id": actor.id if actor is not None else None,
        "actor_email": actor.email if actor is not None else actor_email,
        "occurred_at": occurred_at or utcnow(),
        "ip": request_info.ip if request_info else None,
        "user_agent": request_info.user_agent if request_info else None,
        "details": _plain(details or {}),
    }
    writer = chain_writer()
    seq, previous, digest = writer.link(canonical_content(*values.values()))
    writer.save_head()
    entry = AuditLogEntry(**values, chain_seq=seq, previous_hash=previous, entry_hash=digest)
    db.session.add(entry)
    return entry


def _plain(details):
    """Details as they will read back from the database (JSON types only)."""
    return json.loads(json.dumps(details, default=str))


def record_audit_entries(category, type_, details_list, *, actor, request_info, occurred_at):
    """Many entries of one kind, by one actor at one moment (a bulk recall).

    One statement for the lot (COPY on PostgreSQL, INSERT ... SELECT over a JSON
    array on SQLite) rather than one parameter set per row: a ten-thousand-message
    recall otherwise spends most of its time binding parameters.
    """
    if not details_list:
        return
    ip = request_info.ip if request_info else None
    user_agent = request_info.user_agent if request_info else None
    writer = chain_writer()
    header = canonical_header(category, type_, actor.id, actor.email, occurred_at, ip,
                              user_agent)  # the same for every entry of the batch
    linked = []
    for details in details_list:  # built by the caller from JSON types only
        serialized = details_json(details)
        linked.append((*writer.link(join_content(header, serialized)), serialized))
    writer.save_head()
    db.session.flush()  # the head row's new position is written with the entries
    if db.session.get_bind().dialect.name == "postgresql":
        _copy_entries(linked, category, type_, actor, occurred_at, ip, user_agent)
        return
    items = [f'{{"seq":{seq},"previous":"{previous}","hash":"{digest}","details":{serialized}}}'
             for seq, previous, digest, serialized in linked]
    statement = text(
        "INSERT INTO audit_log_entries (category, type, actor_id, actor_email, occurred_at, "
        "ip, user_agent, chain_seq, previous_hash, entry_hash, details) SELECT :category, "
        ":type, :actor_id, :actor_email, :occurred_at, :ip, :user_agent, "
        "json_extract(value, '$.seq'), json_extract(value, '$.previous'), "
        "json_extract(value, '$.hash'), json_extract(value, '$.details') "
        "FROM json_each(:items) ORDER BY CAST(key AS INTEGER)"
    ).bindparams(bindparam("occurred_at", type_=UTCDateTime()))
    db.session.execute(statement, {
        "category": category, "type": type_, "actor_id": actor.id, "actor_email": actor.email,
        "occurred_at": occurred_at, "ip": ip, "user_agent": user_agent,
        "items": "[" + ",".join(items) + "]",
    })


def _copy_entries(linked, category, type_, actor, occurred_at, ip, user_agent):
    """PostgreSQL: COPY the rows in, inside the session's transaction."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    columns = ("category, type, actor_id, actor_email, occurred_at, ip, user_agent, "
               "chain_seq, previous_hash, entry_hash, details")
    with cursor.copy(f"COPY audit_log_entries ({columns}) FROM STDIN") as copy:
        for seq, previous, digest, serialized in linked:
            copy.write_row((category, type_, actor.id, actor.email, occurred_at, ip,
                            user_agent, seq, previous, digest, serialized))
