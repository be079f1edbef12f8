"""The sender's Sent view, a message's page, and sender recall."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.reading import record_view
from portal.models import (
    AccountSettings,
    AuditLogEntry,
    Edition,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from tests.support.factories import TEST_REQUEST, account_mode, send


@pytest.fixture
def sent(app, people):
    """alice's message to bob and erin, read by bob through the direct link."""
    with app.app_context():
        message, _ = send(people["alice@example.com"],
                          ["bob@partner.example", "erin@partner.example"], subject="Contract")
        bob = message.deliveries[0]
        record_view(bob.recipient, bob, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST)
        message_id = message.id
        db.session.remove()
    return message_id


def test_sent_lists_own_messages_newest_first_with_status(app, people, auth, client, sent):
    with app.app_context():
        send(people["dave@example.com"], ["bob@partner.example"], subject="Dave's own")
        send(people["alice@example.com"], ["bob@partner.example"], subject="Old one",
             now=utcnow() - timedelta(days=3), expires_in=timedelta(days=1))
    auth.sign_in("alice@example.com")
    html = client.get("/sent").get_data(as_text=True)
    assert "Dave's own" not in html
    assert html.index("Contract") < html.index("Old one")
    assert "bob@partner.example and 1 other(s)" in html
    assert 'status-expired">Expired<' in html


def test_sent_is_paginated(app, people, auth, client):
    app.config["PAGE_SIZE"] = 2
    with app.app_context():
        for n in range(5):
            send(people["alice@example.com"], ["bob@partner.example"], subject=f"Number {n}",
                 now=utcnow() - timedelta(minutes=n))
    auth.sign_in("alice@example.com")
    first = client.get("/sent").get_data(as_text=True)
    assert "Number 0" in first and "Number 2" not in first
    assert "Page 1 of 3 · 5 in all" in first
    third = client.get("/sent?page=3").get_data(as_text=True)
    assert "Number 4" in third and "Number 0" not in third


def test_the_message_page_shows_each_recipients_status_and_channel(auth, client, sent):
    auth.sign_in("alice@example.com")
    html = client.get(f"/sent/{sent}").get_data(as_text=True)
    table = html.split('id="recipient-status"', 1)[1].split("</table>", 1)[0]
    bob_row, erin_row = table.split("<tr>")[2:4]
    assert "bob@partner.example" in bob_row and ">Read<" in bob_row and "Direct link" in bob_row
    assert "erin@partner.example" in erin_row and ">Sent<" in erin_row
    assert "Recipient Permissions" in html and "General Information" in html


def test_another_senders_message_is_not_found(people, auth, client, sent):
    auth.sign_in("dave@example.com")
    assert client.get(f"/sent/{sent}").status_code == 404
    token = auth.csrf_token("/sent")
    assert client.post(f"/sent/{sent}/recall", data={"csrf_token": token}).status_code == 404


def test_sender_recall_asks_first_then_recalls_and_audits(app, auth, client, sent):
    auth.sign_in("alice@example.com")
    page = client.get(f"/sent/{sent}?confirm=recall").get_data(as_text=True)
    assert '<dialog id="recall-dialog" aria-labelledby="recall-title" open>' in page
    assert ">Recall</button>" in page

    token = auth.csrf_token(f"/sent/{sent}")
    response = client.post(f"/sent/{sent}/recall",
                           data={"csrf_token": token, "reason": "Wrong attachment"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Message recalled. Its recipients can no longer open it." in html
    assert "Recalled by you on" in html and "Reason: Wrong attachment" in html
    assert 'data-dialog-open="recall-dialog"' not in html
    assert 'status-recalled">Recalled<' in client.get("/sent").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type == "Secure Messaging - Sender Recalled")).one()
        assert entry.actor.email == "alice@example.com"
        assert entry.details["reason"] == "Wrong attachment"
        assert {r["email"]: r["read_before_recall"] for r in entry.details["recipients"]} == {
            "bob@partner.example": True, "erin@partner.example": False}


def test_recalling_twice_says_so_and_writes_nothing_more(app, auth, client, sent):
    auth.sign_in("alice@example.com")
    token = auth.csrf_token(f"/sent/{sent}")
    client.post(f"/sent/{sent}/recall", data={"csrf_token": token})
    again = client.post(f"/sent/{sent}/recall", data={"csrf_token": token}, follow_redirects=True)
    assert "Nothing to recall: this message is already recalled." in again.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type == "Secure Messaging - Sender Recalled")).all()) == 1


def test_sender_recall_works_in_the_lite_edition(app, auth, client, sent):
    with app.app_context():
        db.session.get(AccountSettings, 1).edition = Edition.LITE
        db.session.commit()
    auth.sign_in("alice@example.com")
    token = auth.csrf_token(f"/sent/{sent}")
    client.post(f"/sent/{sent}/recall", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(SecureMessage, sent).recalled_at is not None


def test_an_expired_message_shows_when_instead_of_recall(app, people, auth, client):
    with app.app_context():
        message, _ = send(people["alice@example.com"], ["bob@partner.example"],
                          now=utcnow() - timedelta(days=2), expires_in=timedelta(days=1))
        message_id = message.id
    auth.sign_in("alice@example.com")
    html = client.get(f"/sent/{message_id}").get_data(as_text=True)
    assert "Expired on" in html
    assert 'data-dialog-open="recall-dialog"' not in html


def test_recall_without_csrf_token_changes_nothing(app, auth, client, sent):
    auth.sign_in("alice@example.com")
    assert client.post(f"/sent/{sent}/recall").status_code == 400
    with app.app_context():
        assert db.session.get(SecureMessage, sent).recalled_at is None
