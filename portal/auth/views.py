from flask import redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..web.navigation import safe_next_url
from ..web.request_info import RequestInfo
from . import bp
from .forms import SignInForm
from .homes import home_url
from .service import SESSION_TOKEN_KEY, SIGN_IN_FAILED_MESSAGE, sign_in, sign_out


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in_page():
    next_url = safe_next_url(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_url(current_user))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = sign_in(form.email.data, form.password.data, RequestInfo.from_request())
        if result is not None:
            user, token = result
            # A fresh session at sign-in: nothing from before it carries over.
            session.clear()
            login_user(user)
            session[SESSION_TOKEN_KEY] = token
            return redirect(next_url or home_url(user))
        error = SIGN_IN_FAILED_MESSAGE
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/sign_in.html", form=form, error=error, next_url=next_url), status


@bp.route("/sign-out", methods=["POST"])
def sign_out_action():
    sign_out(current_user, session.get(SESSION_TOKEN_KEY), RequestInfo.from_request())
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in_page", signed_out=1))
