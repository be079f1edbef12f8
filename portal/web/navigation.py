"""Safe redirects after sign-in."""
from urllib.parse import urlsplit


def safe_next_url(target):
    """Return `target` if it is a path on this site, else None.

    Refuses absolute URLs, scheme-relative `//host` and backslash tricks that
    browsers read as another host.
    """
    if not target or not isinstance(target, str):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
