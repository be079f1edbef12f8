"""Server-side sessions: opened at sign-in, resumed on every request, ended by
signing out, by a password change, or by time."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from ..audit.service import record_audit
from ..extensions import db
from ..models import (
    AccessEvidence,
    Audience,
    AuditCategory,
    EvidenceKind,
    User,
    UserSession,
    utcnow,
)
from .sign_in_addresses import remember_sign_in_address

# Key in the signed cookie session that holds the server-side session token.
SESSION_TOKEN_KEY = "sid"
# Writing last_seen_at on every request would turn each page view into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


# Every request runs this: built once (and its SQL compiled once). The person is
# loaded whole (the rest of the request uses them), the session's times as columns:
# one object per request, not two joined.
_sessions = UserSession.__table__
LIVE_SESSION = (
    select(User, _sessions.c.created_at, _sessions.c.last_seen_at)
    .join(_sessions, _sessions.c.user_id == User.id)
    .where(_sessions.c.token_hash == bindparam("token_hash"),
           _sessions.c.user_id == bindparam("user_id"), _sessions.c.ended_at.is_(None))
)
_TOUCH = (update(_sessions).where(_sessions.c.token_hash == bindparam("hash"))
          .values(last_seen_at=bindparam("now")))
_END = (update(_sessions).where(_sessions.c.token_hash == bindparam("hash"))
        .values(ended_at=bindparam("now"), end_reason=bindparam("reason")))


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user, request_info, now):
    """Add a server-side session (and, for a mailbox holder, a portal logon) to the
    caller's transaction; returns the token for the cookie.

    The address becomes one this account has signed in from (sign-in and
    registration alike), so the per-account sign-in limit spares it.
    """
    token = secrets.token_urlsafe(32)
    remember_sign_in_address(user, request_info.ip, now)
    db.session.add(UserSession(user_id=user.id, token_hash=token_hash(token), created_at=now,
                               last_seen_at=now, ip=request_info.ip,
                               user_agent=request_info.user_agent))
    if user.audience is not Audience.ADMIN:
        db.session.add(AccessEvidence(kind=EvidenceKind.PORTAL_LOGON, user_id=user.id,
                                      occurred_at=now, signed_in=True, ip=request_info.ip,
                                      user_agent=request_info.user_agent))
    return token


def resume_session(user_id, token):
    """The user of a live session, or None if the session has ended."""
    if not token or not str(user_id).isdigit():
        return None
    hashed = token_hash(token)
    row = db.session.execute(LIVE_SESSION, {"token_hash": hashed, "user_id": int(user_id)}).first()
    if row is None:
        return None
    user = row.User
    now = utcnow()
    ended = session_expiry_reason(row, now)
    if ended:
        db.session.execute(_END, {"hash": hashed, "now": now, "reason": ended})
        db.session.commit()
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        db.session.execute(_TOUCH, {"hash": hashed, "now": now})
        db.session.commit()
    return user


def session_expiry_reason(row, now):
    """"idle_timeout" or "lifetime_ended" if the session is over, else None.
    `row`: the session's created_at and last_seen_at, and its User."""
    config = current_app.config
    admin = row.User.audience is Audience.ADMIN
    idle = timedelta(minutes=config["SESSION_IDLE_MINUTES_ADMIN" if admin
                                    else "SESSION_IDLE_MINUTES"])
    lifetime = timedelta(hours=config["SESSION_LIFETIME_HOURS_ADMIN" if admin
                                      else "SESSION_LIFETIME_HOURS"])
    if now - row.last_seen_at > idle:
        return "idle_timeout"
    if now - row.created_at > lifetime:
        return "lifetime_ended"
    return None


def sign_out(user, token, request_info):
    """End this session; a replayed cookie for it is refused from now on."""
    row = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == token_hash(token or ""),
                                  UserSession.user_id == user.id,
                                  UserSession.ended_at.is_(None))
    )
    if row is not None:
        row.ended_at = utcnow()
        row.end_reason = "signed_out"
    record_audit(AuditCategory.AUTHENTICATION, "Authentication - Signed Out", actor=user,
                 request_info=request_info)
    db.session.commit()
