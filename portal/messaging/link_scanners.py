"""Telling a person's click from a mail scanner's fetch of the notification link.

Security gateways fetch links in incoming mail within seconds, usually with no
cookies and a blank or tool-like user agent, or ask with HEAD. Such a fetch is
still recorded, flagged, so that it is never mistaken for the recipient.
"""
import re
from datetime import timedelta

PREFETCH_HEADERS = {"purpose": "prefetch", "sec-purpose": "prefetch", "x-moz": "prefetch"}
SCANNER_AGENTS = re.compile(
    r"(bot|crawler|spider|scan|preview|python-requests|python-urllib|curl|wget|go-http-client|"
    r"java/|okhttp|libwww|httpclient|proofpoint|mimecast|barracuda|safelinks|urldefense)",
    re.IGNORECASE,
)
SCANNER_WINDOW = timedelta(seconds=120)


def is_prefetch(headers):
    return any(headers.get(name, "").lower().startswith(value)
               for name, value in PREFETCH_HEADERS.items())


def looks_automated(*, method, headers, has_cookies, user_agent, since_sent):
    """True for a HEAD, a prefetch, or a cookieless blank/tool agent soon after sending."""
    if method == "HEAD" or is_prefetch(headers):
        return True
    agent = (user_agent or "").strip()
    tool_like = not agent or bool(SCANNER_AGENTS.search(agent))
    return not has_cookies and tool_like and since_sent <= SCANNER_WINDOW
