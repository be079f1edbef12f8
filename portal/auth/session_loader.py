"""Flask-Login wiring: sessions are checked against the server on every request."""
from urllib.parse import urlsplit

from flask import redirect, request, session, url_for
from flask_login import AnonymousUserMixin

from ..extensions import login_manager
from ..identity.sessions import SESSION_TOKEN_KEY, resume_session
from ..web.htmx import is_htmx_request
from ..web.navigation import safe_next_url


class Anonymous(AnonymousUserMixin):
    audience = None
    admin_role = None
    time_zone = "UTC"

    def has_admin_role(self, minimum):
        return False


login_manager.anonymous_user = Anonymous


@login_manager.user_loader
def load_user(user_id):
    return resume_session(user_id, session.get(SESSION_TOKEN_KEY))


def _page_path(url):
    parts = urlsplit(url or "")
    return safe_next_url(parts.path + (f"?{parts.query}" if parts.query else "")) if parts.path else None


@login_manager.unauthorized_handler
def unauthorized():
    if is_htmx_request():
        # Swapping a sign-in form into a pane would be wrong: send the whole
        # page to sign-in, coming back to the page the person was on.
        back_to = _page_path(request.headers.get("HX-Current-URL"))
        return "", 401, {"HX-Redirect": url_for("auth.sign_in_page", next=back_to)}
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.sign_in_page", next=target))
