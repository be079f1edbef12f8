"""Compose and Sent, for internal senders."""
from flask import Blueprint

bp = Blueprint("sender", __name__)

from . import views  # noqa: E402,F401
