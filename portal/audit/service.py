"""Writing audit log entries.

Entries are added to the caller's transaction, so an entry and the action it
records commit together or not at all. No code path updates or deletes one.
"""
import json

from sqlalchemy import bindparam, text

from ..extensions import db
from ..models import AuditLogEntry, utcnow
from ..models.types import UTCDateTime


def record_audit(category, type_, *, actor=None, actor_email=None, request_info=None,
                 details=None, occurred_at=None):
    entry = AuditLogEntry(
        category=category,
        type=type_,
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else actor_email,
        occurred_at=occurred_at or utcnow(),
        ip=request_info.ip if request_info else None,
        user_agent=request_info.user_agent if request_info else None,
        details=details or {},
    )
    db.session.add(entry)
    return entry


def record_audit_entries(category, type_, details_list, *, actor, request_info, occurred_at):
    """Many entries of one kind, by one actor at one moment (a bulk recall).

    One INSERT ... SELECT over a JSON array of the details, rather than one
    parameter set per row: a ten-thousand-message recall otherwise spends most
    of its time binding parameters.
    """
    if not details_list:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        rows = ("jsonb_array_elements(CAST(:items AS jsonb)) WITH ORDINALITY AS item(value, n) "
                "ORDER BY n")
    else:
        rows = "json_each(:items) ORDER BY CAST(key AS INTEGER)"
    statement = text(
        "INSERT INTO audit_log_entries (category, type, actor_id, actor_email, occurred_at, "
        "ip, user_agent, details) SELECT :category, :type, :actor_id, :actor_email, "
        f":occurred_at, :ip, :user_agent, value FROM {rows}"
    ).bindparams(bindparam("occurred_at", type_=UTCDateTime()))
    db.session.execute(statement, {
        "category": category, "type": type_, "actor_id": actor.id, "actor_email": actor.email,
        "occurred_at": occurred_at, "ip": request_info.ip if request_info else None,
        "user_agent": request_info.user_agent if request_info else None,
        "items": json.dumps(details_list),
    })
