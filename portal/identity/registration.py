"""First-time registration from a notification link: the recipient sets a password.

The link is a bearer credential for an account with no password yet, so it
opens registration only for a while (REGISTRATION_LINK_DAYS after its message
was sent), never once its message is recalled or expired, and only for the
recipient account it was mailed to: having the link proves control of that
one mailbox, nothing more.
"""
from datetime import timedelta

from flask import current_app

from ..audit.service import record_audit
from ..extensions import db
from ..models import Audience, AuditCategory, MessageStatus, utcnow
from .passwords import check_new_password, hash_password
from .sessions import open_session


class RegistrationError(ValueError):
    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class RegistrationClosed(Exception):
    """This link can no longer be used to register; the message says why."""


def check_registration_open(delivery, now=None):
    """Raise RegistrationClosed unless the delivery's link may still register its recipient."""
    now = now or utcnow()
    if delivery.recipient.audience is not Audience.RECIPIENT:
        raise RegistrationClosed("This address belongs to a staff account, which is not set "
                                 "up from a notification link. Ask your administrator.")
    status = delivery.message.status_at(now)
    if status is not MessageStatus.SENT:
        ended = "been recalled" if status is MessageStatus.RECALLED else "expired"
        raise RegistrationClosed(f"The secure message it was sent for has {ended}.")
    days = current_app.config["REGISTRATION_LINK_DAYS"]
    try:
        opened_after = now - timedelta(days=days)
    except OverflowError:  # reaching back past year 1 (configuration refuses such a window)
        return
    if delivery.message.sent_at <= opened_after:
        raise RegistrationClosed(f"It was sent more than {days} day{'s' if days != 1 else ''} "
                                 "ago. Ask the sender to send the secure message again.")


def register_recipient(delivery, password, confirmation, *, request_info):
    """Set the first password of the delivery's recipient and sign them in.

    Returns the session token. Raises RegistrationClosed for a link that may
    no longer register, RegistrationError for a weak or mismatched password,
    and ValueError if the recipient has registered already.
    """
    user = delivery.recipient
    if user.is_registered:
        raise ValueError("already registered")
    check_registration_open(delivery)
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
