"""Recipient permissions, enforced by the server: Reply, Reply all, Forward and Print."""
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.recall import recall_messages
from portal.models import (
    AccessEvidence,
    EmailKind,
    EvidenceKind,
    OutboxEmail,
    RecallSource,
    SecureMessage,
    utcnow,
)
from tests.conftest import AuthActions
from tests.support.factories import TEST_REQUEST, csrf_token_from, send, user_by_email

SUBJECT = "Contract"
BODY = "Hello Bob,\nthe contract is signed.\nKind regards"
ACTIONS = ["reply", "reply-all", "forward"]
PERMISSION = {"reply": "allow_reply", "reply-all": "allow_reply_all", "forward": "allow_forward"}
REFUSAL = {
    "reply": "The sender does not allow replies to this message.",
    "reply-all": "The sender does not allow Reply all on this message.",
    "forward": "The sender does not allow this message to be forwarded.",
}
ALL_ALLOWED = {"allow_reply": True, "allow_reply_all": True, "allow_forward": True,
               "allow_print": True}


@dataclass
class Sent:
    message_id: int
    delivery: dict  # address -> delivery id
    token: dict  # address -> link token


def send_from_alice(app, people, **permissions):
    """alice's message To bob and erin, Cc frank."""
    with app.app_context():
        message, tokens = send(people["alice@example.com"],
                               ["bob@partner.example", "erin@partner.example"],
                               cc=["frank@client.example"], subject=SUBJECT, body=BODY,
                               **permissions)
        sent = Sent(message.id, {d.recipient.email: d.id for d in message.deliveries},
                    {d.recipient.email: tokens[d.id] for d in message.deliveries})
        db.session.remove()
    return sent


@dataclass
class Totals:
    messages: int
    outbox: int
    responses: int  # REPLY_SENT and FORWARD_SENT evidence


def totals(app):
    with app.app_context():
        def count(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(*where))
        result = Totals(count(SecureMessage), count(OutboxEmail),
                        count(AccessEvidence, AccessEvidence.kind.in_(
                            [EvidenceKind.REPLY_SENT, EvidenceKind.FORWARD_SENT])))
        db.session.remove()
    return result


@dataclass
class Response:
    sender: str
    subject: str
    body: str
    recipients: list
    notified: list  # addresses of NOTIFICATION emails about the new deliveries


def responses_to(app, delivery_id, kind):
    """The messages sent in answer to a delivery, from its evidence."""
    with app.app_context():
        rows = db.session.scalars(select(AccessEvidence).where(
            AccessEvidence.delivery_id == delivery_id, AccessEvidence.kind == kind)
            .order_by(AccessEvidence.id)).all()
        result = []
        for row in rows:
            message = db.session.get(SecureMessage, row.details["message_id"])
            notified = db.session.scalars(select(OutboxEmail.to_address).where(
                OutboxEmail.kind == EmailKind.NOTIFICATION,
                OutboxEmail.delivery_id.in_([d.id for d in message.deliveries]))
                .order_by(OutboxEmail.id)).all()
            result.append(Response(message.sender.email, message.subject, message.body,
                                   [d.recipient.email for d in message.deliveries],
                                   notified))
        db.session.remove()
    return result


def post_action(client, delivery_id, action, **fields):
    path = f"/inbox/{delivery_id}/{action}"
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **fields})


# --- Refused on the server ---------------------------------------------------------

@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_the_sender_did_not_allow_is_refused(app, people, client, auth, action):
    # Everything else allowed: the refusal is about this one permission.
    sent = send_from_alice(app, people, **{**ALL_ALLOWED, PERMISSION[action]: False})
    auth.sign_in("bob@partner.example")
    before = totals(app)
    delivery_id = sent.delivery["bob@partner.example"]

    shown = client.get(f"/inbox/{delivery_id}/{action}")
    assert shown.status_code == 403
    assert REFUSAL[action] in shown.get_data(as_text=True)
    posted = post_action(client, delivery_id, action, body="Thanks",
                         to="dave@example.com")
    assert posted.status_code == 403
    assert REFUSAL[action] in posted.get_data(as_text=True)
    assert totals(app) == before


@pytest.mark.parametrize("ending", ["recalled", "expired"])
@pytest.mark.parametrize("action", ACTIONS)
def test_an_ended_message_cannot_be_answered_or_forwarded(app, people, client, auth, action,
                                                         ending):
    if ending == "expired":
        with app.app_context():
            message, _ = send(people["alice@example.com"], ["bob@partner.example"],
                              subject=SUBJECT, body=BODY, now=utcnow() - timedelta(days=2),
                              expires_in=timedelta(days=1), **ALL_ALLOWED)
            delivery_id = message.deliveries[0].id
            db.session.remove()
    else:
        sent = send_from_alice(app, people, **ALL_ALLOWED)
        delivery_id = sent.delivery["bob@partner.example"]
        with app.app_context():
            recall_messages(user_by_email("alice@example.com"), [sent.message_id],
                            source=RecallSource.SENDER, request_info=TEST_REQUEST)
            db.session.remove()
    auth.sign_in("bob@partner.example")
    before = totals(app)
    text = f"This message has been {ending}: it can no longer be answered or forwarded."
    shown = client.get(f"/inbox/{delivery_id}/{action}")
    assert shown.status_code == 410
    assert text in shown.get_data(as_text=True)
    assert BODY.splitlines()[1] not in shown.get_data(as_text=True)
    posted = post_action(client, delivery_id, action, body="Thanks", to="dave@example.com")
    assert posted.status_code == 410
    assert text in posted.get_data(as_text=True)
    assert totals(app) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_another_recipients_delivery_is_not_found(app, people, client, auth, action):
    sent = send_from_alice(app, people, **ALL_ALLOWED)
    auth.sign_in("erin@partner.example")
    before = totals(app)
    bobs = sent.delivery["bob@partner.example"]
    assert client.get(f"/inbox/{bobs}/{action}").status_code == 404
    assert post_action(client, bobs, action, body="Hi", to="dave@example.com"
                       ).status_code == 404
    assert client.get(f"/inbox/999999/{action}").status_code == 404
    assert totals(app) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_answering_without_a_csrf_token_sends_nothing(app, people, client, auth, action):
    sent = send_from_alice(app, people, **ALL_ALLOWED)
    auth.sign_in("bob@partner.example")
    before = totals(app)
    response = client.post(f"/inbox/{sent.delivery['bob@partner.example']}/{action}",
                           data={"body": "Thanks", "to": "dave@example.com"})
    assert response.status_code == 400
    assert totals(app) == before


# --- Allowed: a new secure message from the recipient ---------------------------------

def assert_quotes_the_original(body, typed):
    assert body.startswith(typed)
    assert "alice@example.com wrote:" in body
    quoted = [line[2:] for line in body.splitlines() if line.startswith("> ")]
    assert quoted == BODY.splitlines()


def test_reply_goes_to_the_sender_only(app, people, client, auth):
    sent = send_from_alice(app, people, allow_reply=True)
    bobs = sent.delivery["bob@partner.example"]
    auth.sign_in("bob@partner.example")
    form = client.get(f"/inbox/{bobs}/reply")
    assert form.status_code == 200
    assert "To: alice@example.com</p>" in form.get_data(as_text=True)

    response = post_action(client, bobs, "reply", body="Thanks, received.")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/inbox/{bobs}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your reply was sent as a secure message to 1 recipient." in page

    [reply] = responses_to(app, bobs, EvidenceKind.REPLY_SENT)
    assert reply.sender == "bob@partner.example"
    assert reply.subject == f"Re: {SUBJECT}"
    assert reply.recipients == ["alice@example.com"]
    assert reply.notified == ["alice@example.com"]
    assert_quotes_the_original(reply.body, "Thanks, received.")
    assert responses_to(app, bobs, EvidenceKind.FORWARD_SENT) == []

    # The sender finds it in her own Inbox.
    alice = app.test_client()
    AuthActions(alice).sign_in("alice@example.com")
    assert f"Re: {SUBJECT}" in alice.get("/inbox").get_data(as_text=True)


def test_reply_all_goes_to_the_sender_and_the_other_recipients(app, people, client, auth):
    sent = send_from_alice(app, people, allow_reply_all=True)
    bobs = sent.delivery["bob@partner.example"]
    auth.sign_in("bob@partner.example")
    form = client.get(f"/inbox/{bobs}/reply-all").get_data(as_text=True)
    assert "To: alice@example.com, erin@partner.example, frank@client.example</p>" in form

    response = post_action(client, bobs, "reply-all", body="Thanks, all.")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your reply was sent as a secure message to 3 recipients." in page

    [reply] = responses_to(app, bobs, EvidenceKind.REPLY_SENT)
    assert reply.sender == "bob@partner.example"
    assert reply.subject == f"Re: {SUBJECT}"
    assert sorted(reply.recipients) == ["alice@example.com", "erin@partner.example",
                                        "frank@client.example"]
    assert "bob@partner.example" not in reply.recipients
    assert sorted(reply.notified) == sorted(reply.recipients)
    assert_quotes_the_original(reply.body, "Thanks, all.")


def test_forward_goes_to_the_typed_addresses_with_the_original_quoted(app, people, client,
                                                                     auth):
    sent = send_from_alice(app, people, allow_forward=True)
    bobs = sent.delivery["bob@partner.example"]
    auth.sign_in("bob@partner.example")
    form = client.get(f"/inbox/{bobs}/forward").get_data(as_text=True)
    assert '<label for="to">To</label>' in form

    response = post_action(client, bobs, "forward", body="FYI, see below.",
                           to="new.person@elsewhere.example, frank@client.example")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/inbox/{bobs}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "as a secure message to 2 recipients." in page

    [forward] = responses_to(app, bobs, EvidenceKind.FORWARD_SENT)
    assert forward.sender == "bob@partner.example"
    assert forward.subject == f"Fwd: {SUBJECT}"
    assert forward.recipients == ["new.person@elsewhere.example", "frank@client.example"]
    assert forward.notified == forward.recipients
    assert_quotes_the_original(forward.body, "FYI, see below.")
    assert responses_to(app, bobs, EvidenceKind.REPLY_SENT) == []


@pytest.mark.parametrize("to,error", [
    ("not-an-address", "not-an-address is not a valid email address."),
    ("frank@client.example, bad@@example", "bad@@example is not a valid email address."),
    ("", "Enter at least one recipient."),
    ("full.admin@example.com",
     "full.admin@example.com is an internal address with no mailbox here."),
])
def test_a_forward_to_a_bad_address_is_refused_inline_and_nothing_saved(app, people, client,
                                                                        auth, to, error):
    sent = send_from_alice(app, people, allow_forward=True)
    auth.sign_in("bob@partner.example")
    before = totals(app)
    response = post_action(client, sent.delivery["bob@partner.example"], "forward",
                           body="FYI", to=to)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="to-error">{error}</p>' in html
    assert "Nothing was sent." in html
    assert totals(app) == before


# --- What the viewer offers ----------------------------------------------------------

BUTTONS = {
    "allow_reply": ">Reply</a>",
    "allow_reply_all": ">Reply all</a>",
    "allow_forward": ">Forward</a>",
    "allow_print": ">Print</button>",
}
PRINT_NOTICE = "The sender does not allow this message to be printed."


@pytest.mark.parametrize("allowed", [
    pytest.param(set(), id="none"),
    *(pytest.param({name}, id=name) for name in BUTTONS),
    pytest.param(set(BUTTONS), id="all"),
])
def test_the_viewer_offers_only_the_permitted_actions(app, people, client, auth, allowed):
    sent = send_from_alice(app, people, **{name: name in allowed for name in BUTTONS})
    bobs = sent.delivery["bob@partner.example"]
    auth.sign_in("bob@partner.example")
    pages = {
        "viewer": client.get(f"/m/{sent.token['bob@partner.example']}"),
        "inbox": client.get(f"/inbox/{bobs}"),
        "pane": client.get(f"/inbox/{bobs}", headers={"HX-Request": "true",
                                                       "HX-Target": "reading-pane"}),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        html = response.get_data(as_text=True)
        assert BODY.splitlines()[1] in html, where
        for name, button in BUTTONS.items():
            assert (button in html) is (name in allowed), (where, name)
        for action in ACTIONS:
            link = f'href="/inbox/{bobs}/{action}"'
            assert (link in html) is (PERMISSION[action] in allowed), (where, action)
        print_allowed = "allow_print" in allowed
        assert bool(re.search(r'class="message[^"]*\bprint-forbidden\b', html)) is (
            not print_allowed), where
        assert (PRINT_NOTICE in html) is (not print_allowed), where


def test_a_forward_without_a_note_sends_the_original_alone(app, people, client, auth):
    sent = send_from_alice(app, people, **ALL_ALLOWED)
    auth.sign_in("bob@partner.example")
    response = post_action(client, sent.delivery["bob@partner.example"], "forward",
                           to="dave@example.com", body="")
    assert response.status_code == 302
    forward, = responses_to(app, sent.delivery["bob@partner.example"], EvidenceKind.FORWARD_SENT)
    assert forward.body.startswith("On ") and "> the contract is signed." in forward.body


def test_a_reply_without_text_is_refused_and_sends_nothing(app, people, client, auth):
    sent = send_from_alice(app, people, **ALL_ALLOWED)
    auth.sign_in("bob@partner.example")
    before = totals(app)
    response = post_action(client, sent.delivery["bob@partner.example"], "reply", body="  ")
    assert response.status_code == 400
    assert "Enter your reply." in response.get_data(as_text=True)
    assert totals(app) == before


def test_a_forward_keeps_the_originals_limits(app, people, client, auth):
    """No printing or forwarding the sender forbade, and no later expiry, for the copy."""
    sent = send_from_alice(app, people, allow_forward=True, allow_print=False,
                           expires_in=timedelta(days=2))
    with app.app_context():
        original = db.session.get(SecureMessage, sent.message_id)
        original_expiry = original.expires_at
    auth.sign_in("bob@partner.example")
    post_action(client, sent.delivery["bob@partner.example"], "forward", to="dave@example.com",
                body="FYI")
    with app.app_context():
        forward = db.session.scalars(select(SecureMessage).where(
            SecureMessage.subject == f"Fwd: {SUBJECT}")).one()
        assert forward.allow_print is False
        assert forward.expires_at == original_expiry
