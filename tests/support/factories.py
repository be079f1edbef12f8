"""Build test data through the same services the portal uses."""
import re
from datetime import timedelta

from sqlalchemy import select

from portal.core.request_info import RequestInfo
from portal.demo.data import DEMO_PASSWORD
from portal.extensions import db
from portal.identity.passwords import hash_password
from portal.messaging.sending import MessageDraft, send_message
from portal.models import AdminRole, User, utcnow
from portal.settings import current_settings

TEST_REQUEST = RequestInfo(ip="203.0.113.5", user_agent="pytest")


def make_user(email, *, internal=False, admin_role=None, registered=True,
              password=DEMO_PASSWORD, time_zone="UTC"):
    user = User(email=email.lower(), is_internal=internal or admin_role is not None,
                admin_role=AdminRole(admin_role) if admin_role else None, time_zone=time_zone)
    if registered:
        user.password_hash = hash_password(password)
        user.registered_at = utcnow()
    db.session.add(user)
    db.session.commit()
    return user


def user_by_email(email):
    return db.session.scalar(select(User).where(User.email == email))


def send(sender, to, *, cc=(), subject="Quarterly statement", body="Hello,\nthe figures.",
         expires_in=timedelta(days=7), now=None, **permissions):
    now = now or utcnow()
    draft = MessageDraft(to=list(to), cc=list(cc), subject=subject, body=body,
                         expires_at=(now + expires_in) if expires_in else None, **permissions)
    message, tokens = send_message(sender, draft, settings=current_settings(),
                                   request_info=TEST_REQUEST, now=now)
    return message, tokens


def account_mode():
    """The account's read-status mode, as a view in the portal would be given it."""
    return current_settings().read_status_mode


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token_from(html):
    match = CSRF_FIELD.search(html) or CSRF_META.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
