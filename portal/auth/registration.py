"""First-time registration from a notification link: the recipient sets a password."""
from ..audit.service import record_audit
from ..extensions import db
from ..models import AuditCategory, utcnow
from .passwords import MIN_PASSWORD_LENGTH, hash_password
from .service import open_session


class RegistrationError(ValueError):
    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def check_new_password(password, confirmation):
    errors = {}
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > 1024:
        errors["password"] = "Choose a password of at most 1,024 characters."
    if "password" not in errors and password != confirmation:
        errors["confirm_password"] = "The two passwords do not match."
    return errors


def register_recipient(delivery, password, confirmation, *, request_info):
    """Set the first password of the delivery's recipient and sign them in.

    Returns the session token. Raises RegistrationError for a weak or
    mismatched password, and ValueError if the recipient has registered already.
    """
    user = delivery.recipient
    if user.is_registered:
        raise ValueError("already registered")
    errors = check_new_password(password, confirmation)
    if errors:
        raise RegistrationError(errors)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.registered_at = now
    user.password_changed_at = now
    record_audit(AuditCategory.AUTHENTICATION, "Authentication - Registered", actor=user,
                 request_info=request_info, occurred_at=now,
                 details={"via_delivery": delivery.id})
    token = open_session(user, request_info, now)
    db.session.commit()
    return token
