"""The hand-written floor of the portal's signed-in pages (see app.py)."""
from .app import create_floor_app

__all__ = ["create_floor_app"]
