"""Queueing emails in the outbox, and cancelling them, inside the caller's transaction."""
import secrets

from flask import current_app, render_template
from sqlalchemy import and_, false, insert, literal, or_, select, update

from ..extensions import db
from ..models import AccessEvidence, Delivery, EmailKind, EvidenceKind, OutboxEmail, OutboxStatus
from ..models.sql import in_id_list
from ..models.types import JSONDocument, UTCDateTime

CANCELLED_RECALLED = "Not sent: the secure message was recalled."
CANCELLED_EXPIRED = "Not sent: the secure message had expired."
# Why a notification was cancelled: the evidence's reason, and the email's last_error.
CANCELLED_BECAUSE = {"recalled": CANCELLED_RECALLED, "expired": CANCELLED_EXPIRED}
CONTENT_REMOVED = "Not sent: its content had been removed."
CONTENT_FAILED_AUTHENTICATION = "Not sent: its content failed authentication."
# What an UPDATE sets to remove an email's content (and with it the personal link).
REMOVED_CONTENT = {OutboxEmail.text_body_ciphertext: None,
                   OutboxEmail.html_body_ciphertext: None, OutboxEmail.content_key_id: None}


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
        message_id_header=_message_id_header(),
        created_at=now,
        next_attempt_at=now,
    )
    email.set_content(render_template(f"email/{template}.txt", **context),
                      render_template(f"email/{template}.html", **context))
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


def record_cancelled(reason, now, *emails_where):
    """Access evidence that these notifications were cancelled, never sent.

    One INSERT ... SELECT over the outbox rows `emails_where` picks, in the
    caller's transaction, so a recall of ten thousand messages stays one statement.
    """
    db.session.execute(insert(AccessEvidence).from_select(
        ["delivery_id", "kind", "occurred_at", "signed_in", "suspected_scanner", "details"],
        select(OutboxEmail.delivery_id, literal(EvidenceKind.NOTIFICATION_CANCELLED.value),
               literal(now, UTCDateTime()), false(), false(),
               literal({"reason": reason}, JSONDocument))
        .where(OutboxEmail.kind == EmailKind.NOTIFICATION, OutboxEmail.delivery_id.is_not(None),
               *emails_where)))


def cancel_notifications(message_ids, *, now):
    """Cancel the notifications of these messages that the SMTP server does not have yet.

    One set-based UPDATE (a bulk recall names thousands of messages). Only
    emails waiting, or held by a worker that has not handed them over, are
    cancelled: the condition is re-checked on the row, so a worker that
    committed its hand-over first keeps its `sending`/`sent`, and one that
    comes second finds the email cancelled and sends nothing. Read receipts
    stay: they go to the sender, hold no body and no link that opens anything,
    and report a view that happened before the recall. Each cancel is recorded
    as access evidence, at `now`. Returns how many.
    """
    not_handed_over = or_(OutboxEmail.status == OutboxStatus.PENDING,
                          and_(OutboxEmail.status == OutboxStatus.SENDING,
                               OutboxEmail.handed_over_at.is_(None)))
    of_these_messages = OutboxEmail.delivery_id.in_(
        select(Delivery.id).where(in_id_list(Delivery.message_id, message_ids)))
    cancelled = db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.kind == EmailKind.NOTIFICATION, not_handed_over, of_these_messages)
        .values({OutboxEmail.status: OutboxStatus.CANCELLED,
                 OutboxEmail.last_error: CANCELLED_RECALLED, OutboxEmail.locked_by: None,
                 **REMOVED_CONTENT})
        .execution_options(synchronize_session=False)
    ).rowcount
    if cancelled:
        # The rows just cancelled: a message is recalled once (its row is locked for the
        # recall), and the cancel holds these rows until commit, so no worker changes them.
        record_cancelled("recalled", now, of_these_messages,
                         OutboxEmail.status == OutboxStatus.CANCELLED,
                         OutboxEmail.last_error == CANCELLED_RECALLED)
    return cancelled
