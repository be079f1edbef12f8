"""Registering from a notification link: only while the link is young and its message stands.

A link is a bearer credential for an account that has no password yet, so it
stops opening registration after REGISTRATION_LINK_DAYS, and at once when its
message is recalled or has expired. It registers that one address, nothing else.
"""
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.recall import sender_recall
from portal.models import SecureMessage, User, utcnow
from tests.http.test_recipient_link import (
    NEW_PASSWORD,
    browser,
    registered,
    send_to,
)
from tests.support.factories import TEST_REQUEST, csrf_token_from

CAROL = "carol@partner.example"
NOTHING = {"password_hash": None, "registered_at": None, "sessions": 0, "audit": []}


def attempt(app, token):
    """The register page, then a good password posted to it."""
    client = browser(app)
    page = client.get(f"/register/{token}")
    csrf = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    posted = client.post(f"/register/{token}", data={
        "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": csrf})
    return page, posted


def age_message(app, message_id, days):
    with app.app_context():
        message = db.session.get(SecureMessage, message_id)
        message.sent_at = utcnow() - timedelta(days=days)
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("days,open_", [(29, True), (31, False)])
def test_a_link_older_than_the_registration_window_no_longer_registers(app, people, days,
                                                                        open_):
    sent = send_to(app, people, [CAROL], expires_in=timedelta(days=90))
    age_message(app, sent.message_id, days)
    page, posted = attempt(app, sent.token[CAROL])
    if open_:
        assert page.status_code == 200 and posted.status_code == 302
        return
    for response in (page, posted):
        assert response.status_code == 410
        html = response.get_data(as_text=True)
        assert "This link can no longer be used to register" in html
        assert "more than 30 days ago" in html
        assert 'name="password"' not in html
    assert registered(app, CAROL) == NOTHING


def test_the_registration_window_is_configurable(app, people):
    app.config["REGISTRATION_LINK_DAYS"] = 2
    sent = send_to(app, people, [CAROL])
    age_message(app, sent.message_id, 3)
    page, _ = attempt(app, sent.token[CAROL])
    assert page.status_code == 410
    assert "more than 2 days ago" in page.get_data(as_text=True)


def test_a_window_reaching_past_the_calendar_keeps_the_link_open(app, people):
    # Configuration refuses such a window; changed while running, it must not be a 500.
    app.config["REGISTRATION_LINK_DAYS"] = 10**10
    sent = send_to(app, people, [CAROL])
    page, posted = attempt(app, sent.token[CAROL])
    assert page.status_code == 200 and posted.status_code == 302
    assert registered(app, CAROL)["audit"] == ["Authentication - Registered"]


def test_a_recalled_messages_link_no_longer_registers(app, people):
    sent = send_to(app, people, [CAROL])
    with app.app_context():
        sender_recall(people["alice@example.com"], sent.message_id, request_info=TEST_REQUEST)
        db.session.remove()
    page, posted = attempt(app, sent.token[CAROL])
    for response in (page, posted):
        assert response.status_code == 410
        assert "has been recalled" in response.get_data(as_text=True)
    assert registered(app, CAROL) == NOTHING
    # The link itself leads to the same page, not to a registration form.
    followed = browser(app).get(f"/m/{sent.token[CAROL]}", follow_redirects=True)
    assert followed.status_code == 410


def test_an_expired_messages_link_no_longer_registers(app, people):
    sent = send_to(app, people, [CAROL], expires_in=timedelta(days=1))
    age_message(app, sent.message_id, 2)
    with app.app_context():
        message = db.session.get(SecureMessage, sent.message_id)
        message.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        db.session.remove()
    page, posted = attempt(app, sent.token[CAROL])
    for response in (page, posted):
        assert response.status_code == 410
        assert "has expired" in response.get_data(as_text=True)
    assert registered(app, CAROL) == NOTHING


def test_a_link_registers_only_its_own_address(app, people):
    """Extra fields naming another account change nothing but the link's own recipient."""
    sent = send_to(app, people, [CAROL, "new.person@elsewhere.example"])
    client = browser(app)
    token = sent.token[CAROL]
    csrf = csrf_token_from(client.get(f"/register/{token}").get_data(as_text=True))
    posted = client.post(f"/register/{token}", data={
        "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": csrf,
        "email": "new.person@elsewhere.example", "user_id": "1"})
    assert posted.status_code == 302
    assert registered(app, "new.person@elsewhere.example") == NOTHING
    assert registered(app, CAROL)["audit"] == ["Authentication - Registered"]
    assert "carol@partner.example" in client.get("/inbox").get_data(as_text=True)


def test_a_link_never_sets_a_password_on_a_staff_account(app, people):
    """An internal account without a password yet is not a recipient's to claim."""
    with app.app_context():
        dave = db.session.scalar(select(User).where(User.email == "dave@example.com"))
        dave.password_hash = None
        db.session.commit()
        db.session.remove()
    sent = send_to(app, people, ["dave@example.com"])
    page, posted = attempt(app, sent.token["dave@example.com"])
    assert page.status_code == posted.status_code == 410
    assert registered(app, "dave@example.com")["password_hash"] is None
