"""Account > Administrators: every user with their admin role, changed by a Full Administrator."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.pagination import page_number
from ..identity.admin_roles import (
    EMAIL_FILTER_MAX,
    LastFullAdministrator,
    RoleChangeRefused,
    change_admin_role,
    users_and_roles,
)
from ..models import AdminRole
from ..web.request_info import current_request_info
from . import bp
from .forms import ROLE_CHOICES, AdminRoleForm

PAGE = "account/administrators.html"


def _list_args(values):
    """The filter and page of the list, as URL arguments (blank ones left out)."""
    email_filter = (values.get("q") or "").strip()[:EMAIL_FILTER_MAX]
    page = page_number(values)
    return {key: value for key, value in (("q", email_filter), ("page", page))
            if value and value != 1}


def _administrators_page(list_args, problem=None, status=200):
    users = users_and_roles(list_args.get("q"), list_args.get("page", 1),
                            current_app.config["PAGE_SIZE"])
    return render_template(PAGE, users=users, list_args=list_args, problem=problem,
                           role_choices=ROLE_CHOICES), status


@bp.get("/administrators")
def administrators_page():
    return _administrators_page(_list_args(request.args))


# Ids beyond a 32-bit integer name nobody, and would overflow the database's integer.
@bp.post("/administrators/<int(max=2147483647):user_id>/role")
def save_admin_role(user_id):
    form = AdminRoleForm()
    list_args = _list_args(request.form)
    if not form.validate_on_submit():
        return _administrators_page(list_args, (user_id, "Choose a role from the list."), 400)
    try:
        change = change_admin_role(current_user, user_id, form.new_role,
                                   current_request_info())
    except LookupError:
        abort(404)
    except RoleChangeRefused as refusal:
        status = 409 if isinstance(refusal, LastFullAdministrator) else 400
        return _administrators_page(list_args, (user_id, str(refusal)), status)
    flash(_outcome(change))
    if not current_user.has_admin_role(AdminRole.FULL):
        # They lowered their own role: this page is no longer theirs to see.
        return redirect(url_for("home"))
    return redirect(url_for("account.administrators_page", **list_args))


def _outcome(change):
    if not change.changed:
        held = f"is already a {change.new_role.label}" if change.new_role else \
            "already has no admin role"
        return f"Nothing changed: {change.email} {held}."
    if change.new_role is None:
        return f"{change.email} no longer has an admin role."
    return f"{change.email} is now a {change.new_role.label}."
