"""Throttling: how often one client may try to sign in, change a password, register or
open notification links.

The limits are read from the app configuration on every request
(`SIGN_IN_LIMIT_PER_ACCOUNT`, `SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP`, `SIGN_IN_LIMIT_PER_IP`,
`CHANGE_PASSWORD_LIMIT_PER_ACCOUNT`, `CHANGE_PASSWORD_LIMIT_PER_IP`, `REGISTER_LIMIT`,
`LINK_OPEN_LIMIT`), so an operator or a test changes them without rebuilding the
app. The counters live in `RATELIMIT_STORAGE_URI`. A breach is a 429, which
`web.errors` answers with the "Too many attempts" page and a Retry-After header.

Every limit here counts an attempt before the view runs: Flask-Limiter's `hit`
adds to the counter and compares in one step of the store, so guesses sent in
parallel cannot all pass. (`deduct_when`, which would count only failures,
checks before the view and adds after it: parallel guesses would all pass the
check.) What an attempt counts towards is decided before the password is checked.
"""
import hashlib
import math
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_login import current_user

from ..core.addresses import normalise_email
from ..identity.sign_in_addresses import is_known_sign_in_address
from .request_info import current_request_info


class _Limiter(Limiter):
    """Flask-Limiter, minus its check before every request when there is nothing for
    it to check.

    Every limit here decorates its view, and the decorator checks it when the view
    runs. The check Flask-Limiter adds before every request applies only
    application-wide, default, meta and blueprint limits, which the portal has none
    of: it would resolve an empty list of limits for every page. Should one be
    configured, the check runs as before.
    """

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        if in_middleware and not self._limits_beyond_views():
            return None
        return super()._check_request_limit(callable_name=callable_name,
                                            in_middleware=in_middleware)

    def _limits_beyond_views(self):
        manager = self.limit_manager
        return bool(manager._application_limits or manager._default_limits
                    or manager._blueprint_limits or self._meta_limits)


# Keyed by the client address that evidence and audit entries record, so the
# throttle and the trusted-proxy setting agree on who the client is.
limiter = _Limiter(key_func=lambda: current_request_info().ip or "unknown")


def _configured(name):
    return lambda: current_app.config[name]


def _submitted_email():
    return normalise_email(request.form.get("email"))


def submitted_account():
    """The per-account key: the email as submitted, normalised as sign-in does.

    Any email counts, whether or not such an account exists, so a 429 says
    nothing about which accounts exist. Hashed, so the key has a bounded size
    and no address lands in the limiter's storage or its log line.
    """
    return "account:" + hashlib.sha256(_submitted_email().encode()).hexdigest()


def submitted_account_and_address():
    return f"{submitted_account()}:ip:{current_request_info().ip or 'unknown'}"


def from_a_known_address():
    """Whether this sign-in comes from an address that has signed in to the account
    before. Those attempts are spared the per-account limit: guessing from
    elsewhere then cannot lock the person out. They still count per address and
    account, so guessing from a known address (a shared office, a stolen laptop)
    is held back too."""
    if request.method != "POST":
        return False  # not an attempt; no query for showing the page
    return is_known_sign_in_address(_submitted_email(), current_request_info().ip)


def signed_in_account():
    return f"user:{current_user.get_id()}"


sign_in_per_account = limiter.limit(_configured("SIGN_IN_LIMIT_PER_ACCOUNT"),
                                    key_func=submitted_account, methods=["POST"],
                                    exempt_when=from_a_known_address)
sign_in_per_account_and_address = limiter.limit(_configured("SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP"),
                                                key_func=submitted_account_and_address,
                                                methods=["POST"])
sign_in_per_ip = limiter.limit(_configured("SIGN_IN_LIMIT_PER_IP"), methods=["POST"])
# Changing a password needs a session, and the current password: someone holding a
# stolen session could otherwise guess it and take the account over for good.
change_password_per_account = limiter.limit(_configured("CHANGE_PASSWORD_LIMIT_PER_ACCOUNT"),
                                            key_func=signed_in_account, methods=["POST"])
change_password_per_ip = limiter.limit(_configured("CHANGE_PASSWORD_LIMIT_PER_IP"),
                                       methods=["POST"])
# Every method: a GET of a registration or notification link already tells
# whether a guessed token is valid.
registration_per_ip = limiter.limit(_configured("REGISTER_LIMIT"))
link_opens_per_ip = limiter.limit(_configured("LINK_OPEN_LIMIT"))


def retry_after_seconds(default=60):
    """Seconds until the limit this request broke lets the client in again."""
    limit = limiter.current_limit
    if limit is None or not limit.breached:
        return default  # a 429 that no limit of ours raised
    return max(1, math.ceil(limit.reset_at - time.time()))
