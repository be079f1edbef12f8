"""Signing in with an email and a password."""
from ..audit.service import record_audit
from ..core.addresses import normalise_email
from ..extensions import db
from ..models import AuditCategory, utcnow
from .passwords import password_matches, spend_equal_time
from .sessions import open_session
from .users import find_user_by_email

SIGN_IN_FAILED_MESSAGE = "Email or password is incorrect."


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
