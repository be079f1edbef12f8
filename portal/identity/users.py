"""Users: found by email; internal users made from the command line (the first
administrator of a new installation, and internal senders)."""
from sqlalchemy import select

from ..audit.service import record_audit
from ..core.addresses import normalise_email
from ..extensions import db
from ..models import AdminRole, AuditCategory, User, utcnow
from .passwords import check_new_password, hash_password


def find_user_by_email(email):
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


class AccountError(ValueError):
    pass


def create_internal_user(email, password, *, admin_role=None, request_info):
    """Add an internal user (a sender, or an administrator with `admin_role`), audited."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address.")
    if find_user_by_email(email) is not None:
        raise AccountError(f"{email} already has an account.")
    problems = check_new_password(password, password)
    if problems:
        raise AccountError(" ".join(problems.values()))
    now = utcnow()
    user = User(email=email, is_internal=True, password_hash=hash_password(password),
                registered_at=now, password_changed_at=now,
                admin_role=AdminRole(admin_role) if admin_role else None)
    db.session.add(user)
    db.session.flush()
    record_audit(AuditCategory.ACCOUNT, "Account - User Created", actor_email="command line",
                 request_info=request_info,
                 details={"email": email, "admin_role": admin_role, "internal": True})
    db.session.commit()
    return user
