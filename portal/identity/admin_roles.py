"""Admin roles: who holds one, and granting, changing or removing it (Full Administrator only).

A role change applies on the person's next request: the session loader reads
the user afresh each time, so an open session of a removed admin loses its
admin rights at once.
"""
from dataclasses import dataclass

from sqlalchemy import case, func, select

from ..audit.service import record_audit
from ..extensions import db
from ..models import AdminRole, AuditCategory, User
from ..models.sql import contains_text, lock_rows

ROLE_CHANGED = "Account - Admin Role Changed"
EMAIL_FILTER_MAX = 254


@dataclass(frozen=True)
class RoleChange:
    user_id: int
    email: str
    old_role: AdminRole | None
    new_role: AdminRole | None

    @property
    def changed(self):
        return self.old_role is not self.new_role


class RoleChangeRefused(Exception):
    """The change breaks a rule about admin roles; nothing was saved."""


class LastFullAdministrator(RoleChangeRefused):
    def __init__(self, email):
        super().__init__(f"{email} is the last Full Administrator, so the role cannot be "
                         "removed or lowered. Make someone else a Full Administrator first.")


class NotInternal(RoleChangeRefused):
    def __init__(self, email):
        super().__init__(f"{email} is an external recipient. Only internal users can be "
                         "given an admin role.")


def users_and_roles(email_filter, page, per_page):
    """Every user, administrators first (Full, Basic, Read Only), then by email.

    `email_filter` matches any part of the address; blank lists everybody.
    """
    rank = case({role: -role.rank for role in AdminRole}, value=User.admin_role, else_=0)
    query = select(User).order_by(rank, User.email)
    email_filter = (email_filter or "").strip()[:EMAIL_FILTER_MAX]
    if email_filter:
        query = query.where(contains_text(User.email, email_filter.lower()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def change_admin_role(actor, user_id, new_role, request_info):
    """Give `user_id` the admin role `new_role` (an AdminRole or its value; None removes it).

    Returns a RoleChange; when they already held that role, nothing is written
    and its `changed` is False. Raises LookupError for an unknown user, LastFullAdministrator
    and NotInternal (nothing saved), and PermissionError for anyone but a Full
    Administrator. The change and its audit entry commit together.
    """
    if not actor.has_admin_role(AdminRole.FULL):
        raise PermissionError("only a Full Administrator may change admin roles")
    new_role = AdminRole(new_role) if new_role is not None else None
    try:
        # Lock the target and every Full Administrator, then count again: two
        # Full admins demoting each other at once cannot leave the account with none.
        full_admins = db.session.scalars(select(User.id).where(User.admin_role == AdminRole.FULL))
        lock_rows(User, sorted({*full_admins, int(user_id)}))
        user = db.session.get(User, int(user_id), populate_existing=True)
        if user is None:
            raise LookupError(user_id)
        change = RoleChange(user.id, user.email, user.admin_role, new_role)
        if not change.changed:
            db.session.rollback()  # nothing to write; ends the lock
            return change
        if new_role is not None and not user.is_internal:
            raise NotInternal(user.email)
        if change.old_role is AdminRole.FULL and _full_administrator_count() <= 1:
            raise LastFullAdministrator(user.email)
        user.admin_role = new_role
        record_audit(AuditCategory.ACCOUNT, ROLE_CHANGED, actor=actor, request_info=request_info,
                     details={"user_id": user.id, "email": user.email,
                              "old_role": _value(change.old_role),
                              "new_role": _value(new_role)})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return change


def _value(role):
    return role.value if role is not None else None


def _full_administrator_count():
    return db.session.scalar(select(func.count()).select_from(User)
                             .where(User.admin_role == AdminRole.FULL))
