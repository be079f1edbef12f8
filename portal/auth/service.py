"""Signing in and out, and the server-side sessions behind them."""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

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
from .passwords import hash_password, password_matches, spend_equal_time
from .sign_in_addresses import remember_sign_in_address

SIGN_IN_FAILED_MESSAGE = "Email or password is incorrect."
# Key in the signed cookie session that holds the server-side session token.
SESSION_TOKEN_KEY = "sid"
# Writing last_seen_at on every request would turn each page view into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def normalise_email(email):
    return (email or "").strip().lower()


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def find_user_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def sign_in(email, password, request_info):
    """Check the credentials and open a session.

    Returns `(user, session_token)`, or `None` when the email is unknown, has
    not registered, or the password is wrong: the caller cannot tell which.
    """
    user = find_user_by_email(email)
    if user is None or not user.is_registered:
        spend_equal_time(password or "")
        ok = False
    else:
        ok = password_matches(user.password_hash, password or "")
    if not ok:
        record_audit(AuditCategory.AUTHENTICATION, "Authentication - Sign In Failed",
                     actor=user, actor_email=normalise_email(email)[:254],
                     request_info=request_info, details={"email": normalise_email(email)[:254]})
        db.session.commit()
        return None

    now = utcnow()
    token = open_session(user, request_info, now)
    record_audit(AuditCategory.AUTHENTICATION, "Authentication - Signed In", actor=user,
                 request_info=request_info, occurred_at=now)
    db.session.commit()
    return user, token


def open_session(user, request_info, now):
    """Add a server-side session (and, for a mailbox holder, a portal logon) to the
    caller's transaction; returns the token for the cookie.

    The address becomes one this account has signed in from (sign-in and
    registration alike), so the per-account sign-in limit spares it.
    """
    token = secrets.token_urlsafe(32)
    remember_sign_in_address(user, request_info.ip, now)
    db.session.add(UserSession(user_id=user.id, token_hash=_token_hash(token), created_at=now,
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
    row = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == _token_hash(token),
                                  UserSession.user_id == int(user_id),
                                  UserSession.ended_at.is_(None))
        .options(joinedload(UserSession.user))  # every request: one query, not two
    )
    if row is None:
        return None
    now = utcnow()
    ended = session_expiry_reason(row, now)
    if ended:
        row.ended_at = now
        row.end_reason = ended
        db.session.commit()
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    return row.user


def session_expiry_reason(row, now):
    """"idle_timeout" or "lifetime_ended" if the session is over, else None."""
    config = current_app.config
    admin = row.user.audience is Audience.ADMIN
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
        select(UserSession).where(UserSession.token_hash == _token_hash(token or ""),
                                  UserSession.user_id == user.id,
                                  UserSession.ended_at.is_(None))
    )
    if row is not None:
        row.ended_at = utcnow()
        row.end_reason = "signed_out"
    record_audit(AuditCategory.AUTHENTICATION, "Authentication - Signed Out", actor=user,
                 request_info=request_info)
    db.session.commit()


def change_password(user, current_password, new_password, confirmation, session_token, *,
                    request_info):
    """Set a new password; every other session of this person ends. Returns errors or {}.

    A wrong current password is audited: someone holding a session may be
    guessing it to take the account over for good."""
    from .registration import check_new_password

    errors = {}
    if not password_matches(user.password_hash, current_password or ""):
        errors["current_password"] = "Your current password is not right."
    errors.update(check_new_password(new_password, confirmation))
    if "current_password" in errors:
        record_audit(AuditCategory.AUTHENTICATION, "Authentication - Password Change Failed",
                     actor=user, request_info=request_info)
        db.session.commit()
    if errors:
        return errors
    now = utcnow()
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    keep = _token_hash(session_token or "")
    for row in db.session.scalars(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None),
            UserSession.token_hash != keep)):
        row.ended_at = now
        row.end_reason = "password_changed"
    record_audit(AuditCategory.AUTHENTICATION, "Authentication - Password Changed", actor=user,
                 request_info=request_info, occurred_at=now)
    db.session.commit()
    return {}
