"""CSRF protection on every state change (Flask-WTF). htmx sends the token as the
`X-CSRFToken` header, from `hx-headers` on `<body>`."""
from flask_wtf import CSRFProtect

csrf = CSRFProtect()
