"""WSGI entry point: `gunicorn wsgi:app`. Production settings unless PORTAL_CONFIG says otherwise
(create_app's default)."""
from portal import create_app

app = create_app()
