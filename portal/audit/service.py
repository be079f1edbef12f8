"""Writing audit log entries.

Entries are added to the caller's transaction, so an entry and the action it
records commit together or not at all. No code path updates or deletes one.
"""
from dataclasses import dataclass, field

from sqlalchemy import insert

from ..extensions import db
from ..models import AuditLogEntry, utcnow


@dataclass
class AuditRecord:
    category: str
    type: str
    details: dict = field(default_factory=dict)


def _row(record, actor, actor_email, request_info, occurred_at):
    return {
        "category": record.category,
        "type": record.type,
        "actor_id": actor.id if actor is not None else None,
        "actor_email": actor.email if actor is not None else actor_email,
        "occurred_at": occurred_at,
        "ip": request_info.ip if request_info else None,
        "user_agent": request_info.user_agent if request_info else None,
        "details": record.details or {},
    }


def record_audit(category, type_, *, actor=None, actor_email=None, request_info=None,
                 details=None, occurred_at=None):
    entry = AuditLogEntry(**_row(AuditRecord(category, type_, details or {}), actor,
                                 actor_email, request_info, occurred_at or utcnow()))
    db.session.add(entry)
    return entry


def record_audit_entries(records, *, actor, request_info, occurred_at):
    """Many entries by one actor at one moment (a bulk recall), in one statement."""
    if records:
        db.session.execute(insert(AuditLogEntry), [
            _row(record, actor, None, request_info, occurred_at) for record in records])
