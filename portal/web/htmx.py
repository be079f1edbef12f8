"""What the server needs to know about htmx requests."""
from flask import request

# Pinned htmx release, loaded from the CDN with Subresource Integrity.
HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def is_htmx_request():
    return request.headers.get("HX-Request") == "true"


def is_boosted_request():
    return request.headers.get("HX-Boosted") == "true"
