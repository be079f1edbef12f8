"""Account > Audit Logs and account settings, for administrators."""
from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from . import views  # noqa: E402,F401
