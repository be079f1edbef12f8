"""Account > Audit Logs and account settings, for administrators."""
from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import administrators_views, discrepancy_views, settings_views, views  # noqa: E402,F401
