"""The facts about this request that evidence and audit entries record."""
import ipaddress

from flask import has_request_context, request

from ..core.request_info import RequestInfo


def current_request_info():
    if not has_request_context():
        return RequestInfo()
    # A NUL is no part of any real user agent, and PostgreSQL cannot store one in text.
    agent = request.headers.get("User-Agent", "").replace("\x00", "\ufffd")[:512] or None
    return RequestInfo(ip=client_address(), user_agent=agent)


def client_address():
    """The client's IP address, or None if what we were given is not one.

    With TRUSTED_PROXY_HOPS set higher than the proxies really in front, the value
    comes from an X-Forwarded-For entry the client wrote itself: any text at all.
    """
    try:
        return str(ipaddress.ip_address(request.remote_addr or ""))
    except ValueError:
        return None
