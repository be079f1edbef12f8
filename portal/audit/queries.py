from sqlalchemy import select

from ..extensions import db
from ..models import AuditLogEntry


def audit_entries(page, per_page):
    query = select(AuditLogEntry).order_by(AuditLogEntry.occurred_at.desc(),
                                           AuditLogEntry.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
