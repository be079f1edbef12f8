"""A signed-in person changes their password."""
from sqlalchemy import select

from ..audit.service import record_audit
from ..extensions import db
from ..models import AuditCategory, UserSession, utcnow
from .passwords import check_new_password, hash_password, password_matches
from .sessions import token_hash


def change_password(user, current_password, new_password, confirmation, session_token, *,
                    request_info):
    """Set a new password; every other session of this person ends. Returns errors or {}.

    A wrong current password is audited: someone holding a session may be
    guessing it to take the account over for good."""
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
    keep = token_hash(session_token or "")
    for row in db.session.scalars(select(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None),
            UserSession.token_hash != keep)):
        row.ended_at = now
        row.end_reason = "password_changed"
    record_audit(AuditCategory.AUTHENTICATION, "Authentication - Password Changed", actor=user,
                 request_info=request_info, occurred_at=now)
    db.session.commit()
    return {}
