from flask import current_app, render_template

from ..audit.queries import audit_entries
from ..web.pagination import page_number
from . import bp


@bp.get("/audit-logs")
def audit_logs():
    page = page_number()
    entries = audit_entries(page, current_app.config["PAGE_SIZE"])
    return render_template("account/audit_logs.html", entries=entries)
