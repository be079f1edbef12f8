"""One email that cannot be built must not stall the others.

A row with a line break in a header (written before compose refused them, or
straight into the table) is tried, fails, counts toward the attempt limit and
ends `failed`; the good email beside it is delivered in the same pass.
"""
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import EmailKind, OutboxEmail, OutboxStatus, utcnow
from portal.notifications.delivery import deliver_due
from tests.support.factories import send


def poisoned(**fields):
    now = utcnow()
    values = {"kind": EmailKind.NOTIFICATION, "to_address": "carol@partner.example",
              "subject": "Hello", "message_id_header": f"<poison{now.timestamp()}@example.com>",
              "created_at": now, "next_attempt_at": now, **fields}
    email = OutboxEmail(**values)
    email.set_content("Hello")
    db.session.add(email)
    db.session.commit()
    return email.id


@pytest.mark.parametrize("fields", [
    {"subject": "Invoice\r\nBcc: everyone@example.com"},
    {"subject": "Invoice\nX-Injected: yes"},
    {"to_address": "carol@partner.example\r\nBcc: everyone@example.com"},
])
def test_a_poisoned_email_fails_alone_and_ends_failed(people, smtp_server, fields):
    bad_id = poisoned(**fields)
    send(people["alice@example.com"], ["bob@partner.example"])
    assert deliver_due() == (1, 1)
    assert [m["To"] for m in smtp_server.messages] == ["bob@partner.example"]
    bad = db.session.get(OutboxEmail, bad_id)
    db.session.refresh(bad)
    assert bad.status is OutboxStatus.PENDING and bad.attempts == 1
    assert bad.locked_by is None and bad.last_error

    limit = current_app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    later = utcnow()
    for _ in range(limit):
        later += timedelta(days=1)
        deliver_due(now=later)
    db.session.refresh(bad)
    assert bad.status is OutboxStatus.FAILED and bad.attempts == limit
    assert deliver_due(now=later + timedelta(days=30)) == (0, 0)
    assert len(smtp_server.messages) == 1
    assert "Bcc" not in str(smtp_server.messages[0])
    assert db.session.scalars(select(OutboxEmail.status)).all().count(OutboxStatus.SENT) == 1
