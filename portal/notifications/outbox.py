"""Queueing emails in the outbox, inside the caller's transaction."""
import secrets

from flask import current_app, render_template

from ..extensions import db
from ..models import EmailKind, OutboxEmail


def message_link(token):
    return f"{current_app.config['BASE_URL'].rstrip('/')}/m/{token}"


def _message_id_header():
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "portal.invalid"
    return f"<{secrets.token_hex(16)}@{domain}>"


def _queue(kind, about, to_address, subject, template, now, **context):
    email = OutboxEmail(
        kind=kind,
        delivery_id=about.id,
        to_address=to_address,
        subject=subject[:255],
        text_body=render_template(f"email/{template}.txt", **context),
        html_body=render_template(f"email/{template}.html", **context),
        message_id_header=_message_id_header(),
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(email)
    return email


def queue_notification(delivery, token, *, now):
    """The recipient's notification, with their personal link to the message viewer."""
    message = delivery.message
    return _queue(EmailKind.NOTIFICATION, delivery, delivery.recipient.email,
                  f"Secure message from {message.sender.email}: {message.subject}",
                  "notification", now, message=message, delivery=delivery,
                  link=message_link(token))


def queue_read_receipt(delivery, *, now):
    """Tell the sender their message was first shown to this recipient."""
    message = delivery.message
    return _queue(EmailKind.READ_RECEIPT, delivery, message.sender.email,
                  f"Read: {message.subject}", "read_receipt", now, message=message,
                  delivery=delivery, read_at=now,
                  sent_link=f"{current_app.config['BASE_URL'].rstrip('/')}/sent/{message.id}")
