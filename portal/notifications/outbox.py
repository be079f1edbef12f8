"""Queueing emails in the outbox, inside the caller's transaction."""
import secrets

from flask import current_app, render_template

from ..models import EmailKind, OutboxEmail
from ..extensions import db


def message_link(token):
    return f"{current_app.config['BASE_URL'].rstrip('/')}/m/{token}"


def _message_id_header():
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "portal.invalid"
    return f"<{secrets.token_hex(16)}@{domain}>"


def queue_notification(delivery, token, *, now):
    message = delivery.message
    context = {"message": message, "delivery": delivery, "link": message_link(token)}
    email = OutboxEmail(
        kind=EmailKind.NOTIFICATION,
        delivery_id=delivery.id,
        to_address=delivery.recipient.email,
        subject=f"Secure message from {message.sender.email}: {message.subject}"[:255],
        text_body=render_template("email/notification.txt", **context),
        html_body=render_template("email/notification.html", **context),
        message_id_header=_message_id_header(),
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(email)
    return email
