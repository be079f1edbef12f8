"""WSGI entry point: `gunicorn wsgi:app`. Production settings unless PORTAL_CONFIG says otherwise."""
import os

from portal import create_app

app = create_app(os.environ.get("PORTAL_CONFIG", "production"))
