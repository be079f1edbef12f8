"""Fields that become email headers take no control characters.

A line break in a subject would let a sender write headers of their own into
the notification email (and used to stop the email worker); it is refused on
the form with a message, and nothing is saved.
"""
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OutboxEmail, SecureMessage
from tests.http.test_recipient_permissions import post_action, send_from_alice
from tests.support.factories import csrf_token_from

SUBJECT_ERROR = "The subject cannot contain line breaks, tabs or other control characters."


def totals(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (SecureMessage, OutboxEmail))


@pytest.mark.parametrize("subject", ["Invoice\r\nBcc: everyone@example.com", "Invoice\nX: y",
                                     "Invoice\rX", "Tab\there", "Esc\x1b[0m", "Bell\x07",
                                     "Line\u2028separator", "Del\x7f", "C1\x85next"])
def test_a_control_character_in_the_subject_is_refused_on_the_form(app, people, auth, client,
                                                                   subject):
    auth.sign_in("alice@example.com")
    token = csrf_token_from(client.get("/compose").get_data(as_text=True))
    response = client.post("/compose", data={
        "csrf_token": token, "to": "bob@partner.example", "subject": subject, "body": "Hi",
        "expiry_date": "2099-01-01"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="subject-error">{SUBJECT_ERROR}' in html
    assert totals(app) == (0, 0)


@pytest.mark.parametrize("to", ["bob@part\x85ner.example", "bob\x0b@partner.example",
                                "bob@partner.example\x1bX"])
def test_a_control_character_in_an_address_is_refused_on_the_form(app, people, auth, client,
                                                                  to):
    auth.sign_in("alice@example.com")
    token = csrf_token_from(client.get("/compose").get_data(as_text=True))
    response = client.post("/compose", data={
        "csrf_token": token, "to": to, "subject": "Fine", "body": "Hi",
        "expiry_date": "2099-01-01"})
    assert response.status_code == 400
    assert 'id="to-error">' in response.get_data(as_text=True)
    assert totals(app) == (0, 0)


def test_a_forward_to_an_address_with_a_control_character_is_refused_on_the_form(
        app, people, auth, client):
    sent = send_from_alice(app, people, allow_forward=True)
    auth.sign_in("bob@partner.example")
    before = totals(app)
    response = post_action(client, sent.delivery["bob@partner.example"], "forward",
                           to="frank@client.example\x1b", body="FYI")
    assert response.status_code == 400
    assert 'id="to-error">' in response.get_data(as_text=True)
    assert totals(app) == before


def test_a_reply_to_a_subject_stored_with_a_line_break_goes_out_clean(app, people, auth,
                                                                     client):
    """A subject saved before the check still gets a reply: its breaks become spaces."""
    sent = send_from_alice(app, people, allow_reply=True)
    with app.app_context():
        db.session.get(SecureMessage, sent.message_id).subject = "Old\r\nsubject"
        db.session.commit()
    auth.sign_in("bob@partner.example")
    response = post_action(client, sent.delivery["bob@partner.example"], "reply",
                           body="Thanks")
    assert response.status_code == 302
    with app.app_context():
        reply = db.session.scalars(select(SecureMessage).order_by(SecureMessage.id.desc())
                                   ).first()
        assert reply.subject == "Re: Old subject"
