"""The Dev mailbox: in development with no MAIL_SERVER, emails are read here."""
from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")

from . import views  # noqa: E402,F401  (the views register their routes)
