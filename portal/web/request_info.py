"""The facts about a request that evidence and audit entries record."""
import ipaddress
from dataclasses import dataclass

from flask import has_request_context, request


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def from_request(cls):
        if not has_request_context():
            return cls()
        # A NUL is no part of any real user agent, and PostgreSQL cannot store one in text.
        agent = request.headers.get("User-Agent", "").replace("\x00", "\ufffd")[:512] or None
        return cls(ip=_client_address(), user_agent=agent)


def _client_address():
    """The client's IP address, or None if what we were given is not one.

    With TRUSTED_PROXY_HOPS set higher than the proxies really in front, the value
    comes from an X-Forwarded-For entry the client wrote itself: any text at all.
    """
    try:
        return str(ipaddress.ip_address(request.remote_addr or ""))
    except ValueError:
        return None


# Actions taken from the command line (demo data, QA scripts) carry no request.
NO_REQUEST = RequestInfo()
