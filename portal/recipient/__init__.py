"""The Inbox and the message viewer, for everyone who receives secure messages."""
from flask import Blueprint

bp = Blueprint("recipient", __name__)

from . import views  # noqa: E402,F401
