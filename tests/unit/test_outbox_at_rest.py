"""Outbox emails at rest: nothing in the table opens an account or a message.

The notification email carries the recipient's personal link. While it waits
its content is encrypted like message bodies (and bound to its recipient's
address); once the SMTP server has it, the content is gone and only what
administrators need stays: recipient, subject, status, dates.
"""
from flask_migrate import upgrade
from sqlalchemy import select, text

from portal import create_app
from portal.extensions import db
from portal.models import (
    AccessEvidence,
    EmailKind,
    EvidenceKind,
    OutboxEmail,
    OutboxStatus,
    utcnow,
)
from portal.notifications.delivery import deliver_due
from portal.notifications.transports import DevMailboxTransport
from tests.support.factories import send


def raw_rows():
    db.session.expire_all()
    return db.session.execute(text(
        "SELECT to_address, subject, text_body, html_body, status FROM outbox_emails "
        "ORDER BY id")).all()


def test_a_queued_notification_holds_no_link_in_clear(people):
    _message, tokens = send(people["alice@example.com"], ["carol@partner.example"])
    [token] = tokens.values()
    [row] = raw_rows()
    assert token not in row.text_body and token not in (row.html_body or "")
    assert "/m/" not in row.text_body
    # The portal still reads it (the Dev mailbox shows it in development).
    email = db.session.scalar(select(OutboxEmail))
    assert f"http://portal.test/m/{token}" in email.text_body
    assert f"http://portal.test/m/{token}" in email.html_body


def test_once_handed_to_the_server_only_what_admins_need_is_kept(people, smtp_server):
    _message, tokens = send(people["alice@example.com"], ["carol@partner.example"])
    [token] = tokens.values()
    assert deliver_due() == (1, 0)
    [received] = smtp_server.messages
    assert f"/m/{token}" in received.get_body(("plain",)).get_content()
    [row] = raw_rows()
    assert row.to_address == "carol@partner.example"
    assert row.subject == "Secure message from alice@example.com: Quarterly statement"
    assert row.status == "sent"
    assert row.text_body is None and row.html_body is None
    email = db.session.scalar(select(OutboxEmail))
    assert email.content_removed and email.sent_at is not None


def test_the_dev_mailbox_keeps_what_it_shows(people):
    """In development the outbox is the mailbox: its emails stay readable (encrypted)."""
    _message, tokens = send(people["alice@example.com"], ["carol@partner.example"])
    [token] = tokens.values()
    assert deliver_due(transport=DevMailboxTransport()) == (1, 0)
    [row] = raw_rows()
    assert row.status == "sent" and token not in row.text_body
    assert token in db.session.scalar(select(OutboxEmail)).text_body


def test_an_email_readdressed_in_the_database_is_not_sent(people, smtp_server):
    """The content is bound to its address: a database writer cannot redirect a link."""
    send(people["alice@example.com"], ["carol@partner.example"])
    db.session.execute(text("UPDATE outbox_emails SET to_address = 'mallory@evil.example'"))
    db.session.commit()
    assert deliver_due() == (0, 1)
    assert smtp_server.messages == []
    email = db.session.scalar(select(OutboxEmail))
    assert email.status is OutboxStatus.PENDING and "failed authentication" in email.last_error


def test_the_migration_encrypts_waiting_emails_and_clears_delivered_ones(databases, backend):
    url = databases.fresh_url(backend, "outbox_at_rest")
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0006")
        now = utcnow()
        with db.engine.begin() as conn:
            for n, status in enumerate(("pending", "sent", "failed")):
                conn.execute(text(
                    "INSERT INTO outbox_emails (kind, to_address, subject, text_body, "
                    "html_body, message_id_header, status, attempts, created_at, "
                    "next_attempt_at) VALUES ('notification', :to, 'Hello', :text, :html, "
                    ":mid, :status, 0, :now, :now)"),
                    {"to": f"r{n}@partner.example", "text": f"Open it: http://x/m/token{n}",
                     "html": f'<a href="http://x/m/token{n}">Open</a>', "mid": f"<m{n}@x>",
                     "status": status, "now": now})
        upgrade()
        rows = raw_rows()
        assert all("token" not in (r.text_body or "") + (r.html_body or "") for r in rows)
        assert [r.text_body is None for r in rows] == [False, True, False]
        emails = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)).all()
        assert emails[0].text_body == "Open it: http://x/m/token0"
        assert emails[2].html_body == '<a href="http://x/m/token2">Open</a>'
        assert emails[0].kind is EmailKind.NOTIFICATION
        db.session.remove()
        db.engine.dispose()


def test_key_rotation_moves_waiting_emails_to_the_new_key(app, people):
    from portal.messaging.re_encryption import re_encrypt_bodies
    from tests.unit.test_body_encryption import new_key, use_keys

    old, new = new_key(), new_key()
    use_keys(app, "k1", k1=old)
    _message, tokens = send(people["alice@example.com"], ["carol@partner.example"])
    [token] = tokens.values()
    use_keys(app, "k2", k1=old, k2=new)
    report = re_encrypt_bodies()
    assert report.emails_changed == 1 and report.keys_in_use == ["k2"]
    use_keys(app, "k2", k2=new)
    db.session.expire_all()
    email = db.session.scalar(select(OutboxEmail))
    assert email.content_key_id == "k2" and token in email.text_body


def test_an_unreadable_email_does_not_stop_key_rotation(app, people):
    from portal.messaging.re_encryption import re_encrypt_bodies
    from tests.unit.test_body_encryption import new_key, use_keys

    old, new = new_key(), new_key()
    use_keys(app, "k1", k1=old)
    alice = people["alice@example.com"]
    send(alice, ["carol@partner.example"])
    _message, tokens = send(alice, ["bob@partner.example"])
    [token] = tokens.values()
    # Readdressed in the database: its content no longer authenticates.
    db.session.execute(text("UPDATE outbox_emails SET to_address = 'mallory@evil.example' "
                            "WHERE to_address = 'carol@partner.example'"))
    db.session.commit()
    use_keys(app, "k2", k1=old, k2=new)
    result = app.test_cli_runner().invoke(args=["messages", "re-encrypt"])
    assert result.exit_code == 0, result.output
    [poisoned, readable] = db.session.scalars(select(OutboxEmail).order_by(OutboxEmail.id))
    assert f"Cancelled outbox email(s) {poisoned.id}: their content failed authentication" \
        in result.output
    assert poisoned.status is OutboxStatus.CANCELLED and poisoned.content_removed
    assert poisoned.last_error == "Not sent: its content failed authentication."
    assert readable.status is OutboxStatus.PENDING and readable.content_key_id == "k2"
    [cancelled] = db.session.scalars(select(AccessEvidence).where(
        AccessEvidence.kind == EvidenceKind.NOTIFICATION_CANCELLED))
    assert cancelled.delivery_id == poisoned.delivery_id
    assert cancelled.details == {"reason": "content failed authentication"}
    use_keys(app, "k2", k2=new)  # k1 can go: nothing needs it any more
    assert token in readable.text_body
    assert re_encrypt_bodies().keys_in_use == ["k2"]
