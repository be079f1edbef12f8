"""Account > Audit Logs and account settings, for administrators."""
from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import (  # noqa: E402,F401  (the views register their routes)
    administrators_views,
    audit_logs_views,
    discrepancy_views,
    settings_views,
)
