"""Headers on every response: pages, fragments, errors and static files alike."""
from flask import request

from .htmx import HTMX_URL

# Our own files and the one pinned htmx URL; nothing inline, nothing evaluated.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    f"script-src 'self' {HTMX_URL}",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])


def register(app):
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        # A message link in the address bar must never travel in a Referer.
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("HSTS_SECONDS"):
            headers["Strict-Transport-Security"] = (
                f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        # Pages carry message data and personal details: never cache them.
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        return response
