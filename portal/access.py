"""Who may do what: one table, enforced before every request.

Each blueprint has a row (its audience and, for admins, the lowest role);
an endpoint may have a row of its own where it differs from its blueprint.
The app refuses to start if a route has no row, so a new page cannot be
left unguarded by accident, and a test walks `app.url_map` against it.
"""
from dataclasses import dataclass

from flask import abort, request
from flask_login import current_user

from .audit.service import record_audit
from .extensions import db, login_manager
from .models import AdminRole, Audience
from .web.request_info import current_request_info


@dataclass(frozen=True)
class Rule:
    # None means anybody, signed in or not.
    audiences: frozenset | None
    min_admin_role: AdminRole | None = None
    # (category, type) of the audit entry written when a signed-in person is refused
    # an action (POST); a refused GET, HEAD or OPTIONS writes nothing.
    refusal_audit: tuple | None = None

    def allows(self, user):
        if self.audiences is None:
            return True
        if not user.is_authenticated:
            return False
        if user.audience not in self.audiences:
            return False
        if self.min_admin_role is not None:
            return user.has_admin_role(self.min_admin_role)
        return True

    @property
    def is_public(self):
        return self.audiences is None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PUBLIC = Rule(audiences=None)
SIGNED_IN = Rule(audiences=frozenset(Audience))
ADMINS = Rule(audiences=frozenset({Audience.ADMIN}), min_admin_role=AdminRole.READ_ONLY)
BASIC_ADMINS = Rule(audiences=frozenset({Audience.ADMIN}), min_admin_role=AdminRole.BASIC)
FULL_ADMINS = Rule(audiences=frozenset({Audience.ADMIN}), min_admin_role=AdminRole.FULL)
ADMIN_RECALLERS = Rule(audiences=frozenset({Audience.ADMIN}), min_admin_role=AdminRole.BASIC,
                      refusal_audit=("Secure Messaging Logs",
                                     "Secure Messaging - Admin Recall Refused"))
SENDERS = Rule(audiences=frozenset({Audience.SENDER}))
# Everyone who can receive secure messages: external recipients and internal senders.
MAILBOX_HOLDERS = Rule(audiences=frozenset({Audience.SENDER, Audience.RECIPIENT}))

POLICY = {
    # blueprints
    "auth": PUBLIC,
    "admin": ADMINS,
    "account": ADMINS,
    "sender": SENDERS,
    "recipient": MAILBOX_HOLDERS,
    "dev": PUBLIC,  # registered only in development with no MAIL_SERVER
    # endpoints that differ from their blueprint, and app-level routes
    "auth.sign_out_action": SIGNED_IN,
    "auth.change_password_page": SIGNED_IN,
    "recipient.open_link": PUBLIC,  # the notification link; it grants nothing by itself
    "admin.recall_confirm": ADMIN_RECALLERS,
    "admin.recall": ADMIN_RECALLERS,
    "account.settings_page": FULL_ADMINS,
    "account.save_settings": FULL_ADMINS,
    "account.administrators_page": FULL_ADMINS,
    "account.save_admin_role": FULL_ADMINS,
    "home": PUBLIC,
    "static": PUBLIC,
}


def rule_for(endpoint):
    if endpoint in POLICY:
        return POLICY[endpoint]
    blueprint = endpoint.rpartition(".")[0]
    if blueprint and blueprint in POLICY:
        return POLICY[blueprint]
    return None


def check_every_endpoint_has_a_rule(app):
    missing = sorted(r.endpoint for r in app.url_map.iter_rules() if rule_for(r.endpoint) is None)
    if missing:
        raise RuntimeError(f"endpoints missing from the access policy: {', '.join(missing)}")


def enforce_access_policy():
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let the 404/405 handlers answer
        return None
    rule = rule_for(endpoint)
    if rule is None:  # unreachable after the start-up check; fail closed all the same
        abort(403)
    if rule.is_public:
        return None
    user = current_user._get_current_object()  # the proxy resolved once, not per check
    if not user.is_authenticated:
        return login_manager.unauthorized()
    if not rule.allows(user):
        # Only a refused action is audited: a GET is what a link from anyone can make
        # a signed-in person's browser send, so it must not write in their name.
        if rule.refusal_audit and request.method not in SAFE_METHODS:
            _audit_refusal(rule, endpoint)
        abort(403)
    return None


def _audit_refusal(rule, endpoint):
    category, type_ = rule.refusal_audit
    record_audit(category, type_, actor=current_user, request_info=current_request_info(),
                 details={"why": "role", "endpoint": endpoint, "method": request.method,
                          "message_ids": request.values.getlist("message_ids")[:1000]})
    db.session.commit()
