"""Writing audit log entries.

`record_audit` adds the entry to the caller's transaction, so the entry and
the action it records commit together or not at all.
"""
from ..extensions import db
from ..models import AuditLogEntry, utcnow


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
