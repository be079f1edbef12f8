from flask import current_app, render_template, request

from ..audit.queries import audit_entries
from . import bp


@bp.get("/audit-logs")
def audit_logs():
    page = request.args.get("page", 1, type=int)
    entries = audit_entries(page, current_app.config["PAGE_SIZE"])
    return render_template("account/audit_logs.html", entries=entries)
