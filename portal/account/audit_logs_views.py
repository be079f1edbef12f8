from flask import abort, current_app, render_template, request
from flask_login import current_user

from ..audit.catalogue import AUDIT_TYPES
from ..audit.chain import verify_chain
from ..audit.export import EXPORT_HEADER, export_row, record_export
from ..audit.queries import AuditCriteria, audit_entries, audit_entry, audit_export_rows
from ..web.csv_export import stream_csv
from ..web.htmx import page_or_block
from ..web.request_info import current_request_info
from . import bp

PAGE = "account/audit_logs.html"


def _context(entry=None):
    criteria = AuditCriteria.from_args(request.args)
    entries = None
    if not criteria.errors:
        entries = audit_entries(criteria, current_user.time_zone,
                                current_app.config["PAGE_SIZE"])
    return {"criteria": criteria, "entries": entries, "types": AUDIT_TYPES, "entry": entry}


def _respond(context, blocks):
    return page_or_block(PAGE, blocks, context, status=400 if context["criteria"].errors else 200)


@bp.get("/audit-logs")
def audit_logs():
    return _respond(_context(), {"audit-results": "results"})


@bp.get("/audit-logs/<int:entry_id>")
def audit_log_entry(entry_id):
    entry = audit_entry(entry_id) or abort(404)
    return _respond(_context(entry), {"entry-panel": "entry_details"})


@bp.get("/audit-logs/chain")
def audit_chain_status():
    """Whether the hash chain verifies (loaded after the page: it reads every entry)."""
    return render_template("account/_chain_status.html", report=verify_chain())


@bp.post("/audit-logs/export.csv")
def export_audit_logs():
    # A POST with the CSRF token: the export writes its own audit entry, and a
    # link crafted by someone else must not write one in this admin's name.
    criteria = AuditCriteria.from_args(request.form)
    if criteria.errors:
        return render_template(PAGE, criteria=criteria, entries=None, types=AUDIT_TYPES,
                               entry=None), 400
    record_export(current_user, criteria, request_info=current_request_info())
    rows = (export_row(entry) for entry in audit_export_rows(criteria, current_user.time_zone))
    return stream_csv("audit-logs.csv", EXPORT_HEADER, rows)
