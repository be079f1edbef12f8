"""What every response must carry."""
from portal.web.htmx import HTMX_URL


def assert_security_headers(response, where):
    csp = response.headers.get("Content-Security-Policy", "")
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    for directive in ("default-src 'self'", f"script-src 'self' {HTMX_URL}",
                      "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in csp, (where, directive)
    assert response.headers.get("Referrer-Policy") == "no-referrer", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
