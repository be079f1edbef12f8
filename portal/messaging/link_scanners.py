"""Telling a person's click from a mail scanner's fetch of the notification link.

Security gateways fetch links in incoming mail within seconds, usually with a
blank or tool-like user agent, or ask with HEAD; some open the link in a
headless browser that runs the page's scripts. Such a fetch is still recorded,
flagged, so that it is never mistaken for the recipient.
"""
import re
from datetime import timedelta

PREFETCH_HEADERS = {"purpose": "prefetch", "sec-purpose": "prefetch", "x-moz": "prefetch"}
SCANNER_AGENTS = re.compile(
    r"(bot|crawler|spider|scan|preview|python-requests|python-urllib|curl|wget|go-http-client|"
    r"java/|okhttp|libwww|httpclient|proofpoint|mimecast|barracuda|safelinks|urldefense)",
    re.IGNORECASE,
)
# Browsers driven by a program say so: HeadlessChrome (Puppeteer, Playwright), PhantomJS.
HEADLESS_AGENTS = re.compile(r"(headless|phantomjs)", re.IGNORECASE)
SCANNER_WINDOW = timedelta(seconds=120)


def is_prefetch(headers):
    return any(headers.get(name, "").lower().startswith(value)
               for name, value in PREFETCH_HEADERS.items())


def looks_automated(*, method, headers, signed_in, user_agent, since_sent):
    """True for a HEAD or a prefetch; and, from someone not signed in, for a headless
    browser, or a blank or tool agent soon after sending."""
    if method == "HEAD" or is_prefetch(headers):
        return True
    if signed_in:
        return False  # someone who signed in with a password in this browser
    # Cookies say nothing here: the only one a signed-out visitor can carry is the
    # one the sign-in and registration pages give anybody (it holds the CSRF token),
    # and a scanner that follows the link's redirect is given it too and brings it
    # back on its next visit. So "signed in or not" is what counts, not cookies.
    agent = (user_agent or "").strip()
    if HEADLESS_AGENTS.search(agent):
        # Nobody reads mail in a browser without a window; link sandboxes do, and
        # not only in the first minutes (some open links again when clicked).
        return True
    tool_like = not agent or bool(SCANNER_AGENTS.search(agent))
    return tool_like and since_sent <= SCANNER_WINDOW
