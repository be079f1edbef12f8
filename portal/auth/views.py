from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..identity.password_change import change_password
from ..identity.registration import (
    RegistrationClosed,
    RegistrationError,
    check_registration_open,
    register_recipient,
)
from ..identity.sessions import SESSION_TOKEN_KEY, sign_out
from ..identity.sign_in import SIGN_IN_FAILED_MESSAGE, sign_in
from ..web.links import LinkNotValid, delivery_named_by
from ..web.navigation import safe_next_url
from ..web.request_info import current_request_info
from ..web.throttling import (
    change_password_per_account,
    change_password_per_ip,
    registration_per_ip,
    sign_in_per_account,
    sign_in_per_account_and_address,
    sign_in_per_ip,
)
from . import bp
from .forms import ChangePasswordForm, RegisterForm, SignInForm
from .homes import home_url


def start_browser_session(user, token):
    # A fresh session at sign-in: nothing from before it carries over.
    session.clear()
    login_user(user)
    session[SESSION_TOKEN_KEY] = token


@bp.route("/sign-in", methods=["GET", "POST"])
@sign_in_per_ip
@sign_in_per_account
@sign_in_per_account_and_address
def sign_in_page():
    next_url = safe_next_url(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_url(current_user))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = sign_in(form.email.data, form.password.data, current_request_info())
        if result is not None:
            user, token = result
            start_browser_session(user, token)
            return redirect(next_url or home_url(user))
        error = SIGN_IN_FAILED_MESSAGE
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/sign_in.html", form=form, error=error, next_url=next_url), status


@bp.route("/sign-out", methods=["POST"])
def sign_out_action():
    sign_out(current_user, session.get(SESSION_TOKEN_KEY), current_request_info())
    logout_user()
    session.clear()
    response = redirect(url_for("auth.sign_in_page", signed_out=1))
    # The browser drops the tab's storage and the portal's cached pages, so nothing
    # of the session (least of all a message body) can be shown again from it.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.route("/register/<token>", methods=["GET", "POST"])
@registration_per_ip
def register(token):
    """First-time registration from a notification link."""
    delivery = delivery_named_by(token)
    link = url_for("recipient.open_link", token=token)
    if delivery.recipient.is_registered:
        return redirect(url_for("auth.sign_in_page", next=link))
    if current_user.is_authenticated:
        raise LinkNotValid()  # someone else's link
    try:
        check_registration_open(delivery)
    except RegistrationClosed as closed:
        return render_template("recipient/link_not_valid.html", closed=str(closed)), 410
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            session_token = register_recipient(delivery, form.password.data,
                                               form.confirm_password.data,
                                               request_info=current_request_info())
        except RegistrationError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [message]
        else:
            start_browser_session(delivery.recipient, session_token)
            return redirect(link)
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("auth/register.html", form=form, email=delivery.recipient.email,
                           sender=delivery.message.sender.email), status


@bp.route("/password", methods=["GET", "POST"])
@change_password_per_ip
@change_password_per_account
def change_password_page():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        errors = change_password(current_user, form.current_password.data, form.password.data,
                                 form.confirm_password.data, session.get(SESSION_TOKEN_KEY),
                                 request_info=current_request_info())
        if not errors:
            flash("Your password was changed. You were signed out everywhere else.")
            return redirect(home_url(current_user))
        for name, message in errors.items():
            getattr(form, name).errors = [message]
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("auth/change_password.html", form=form), status
