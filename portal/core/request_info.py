"""The facts about a client that evidence and audit entries record."""
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None = None
    user_agent: str | None = None


# Actions taken from the command line (demo data, QA scripts) carry no request.
NO_REQUEST = RequestInfo()
