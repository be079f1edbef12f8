"""The facts about a request that evidence and audit entries record."""
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
        return cls(ip=request.remote_addr, user_agent=agent)


# Actions taken from the command line (demo data, QA scripts) carry no request.
NO_REQUEST = RequestInfo()
