"""Exporting the audit log: itself an audited action."""
import json

from ..extensions import db
from ..models import AuditCategory
from .service import record_audit

EXPORT_HEADER = ["Date/Time (UTC)", "Category", "Type", "Actor", "IP", "User agent",
                 "Details", "Entry id", "Chain position", "Entry hash"]


def record_export(actor, criteria, *, request_info):
    """Write the export's own audit entry (committed before the file is sent)."""
    record_audit(AuditCategory.ACCOUNT, "Account - Audit Log Exported", actor=actor,
                 request_info=request_info, details={"filter": criteria.describe()})
    db.session.commit()


def export_row(entry):
    return [entry.occurred_at.isoformat(), entry.category, entry.type, entry.actor_email or "",
            entry.ip or "", entry.user_agent or "",
            json.dumps(entry.details, sort_keys=True, ensure_ascii=False), entry.id,
            entry.chain_seq, entry.entry_hash]
