"""Throttling: how often one client may try to sign in, register or open notification links.

The limits are read from the app configuration on every request
(`SIGN_IN_LIMIT_PER_ACCOUNT`, `SIGN_IN_LIMIT_PER_IP`, `REGISTER_LIMIT`,
`LINK_OPEN_LIMIT`), so an operator or a test changes them without rebuilding the
app. The counters live in `RATELIMIT_STORAGE_URI`. A breach is a 429, which
`web.errors` answers with the "Too many attempts" page and a Retry-After header.
"""
import hashlib
import math
import time

from flask import current_app, request

from ..auth.service import normalise_email
from ..extensions import limiter


def _configured(name):
    return lambda: current_app.config[name]


def submitted_account():
    """The per-account key: the email as submitted, normalised as sign-in does.

    Any email counts, whether or not such an account exists, so a 429 says
    nothing about which accounts exist. Hashed, so the key has a bounded size
    and no address lands in the limiter's storage or its log line.
    """
    email = normalise_email(request.form.get("email"))
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


# Every sign-in attempt counts towards both limits, successful or not. Flask-Limiter's
# `deduct_when` would count only failures, but it checks the counter before the view
# runs and adds to it after, so guesses sent in parallel would all pass the check.
sign_in_per_account = limiter.limit(_configured("SIGN_IN_LIMIT_PER_ACCOUNT"),
                                    key_func=submitted_account, methods=["POST"])
sign_in_per_ip = limiter.limit(_configured("SIGN_IN_LIMIT_PER_IP"), methods=["POST"])
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
