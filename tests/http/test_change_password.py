"""Changing one's password: checked, throttled, audited, and every other session ends."""
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditLogEntry, UserSession
from tests.conftest import AuthActions


def change(client, auth, current="portal-demo-password", new="a brand new passphrase",
           confirm=None):
    return client.post("/password", data={
        "csrf_token": auth.csrf_token("/password"), "current_password": current,
        "password": new, "confirm_password": new if confirm is None else confirm})


def test_a_change_ends_every_other_session_and_is_audited(app, people, auth, client):
    other_client = app.test_client()
    other = AuthActions(other_client)
    other.sign_in("bob@partner.example")
    auth.sign_in("bob@partner.example")
    response = change(client, auth)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your password was changed. You were signed out everywhere else." in page
    assert client.get("/inbox").status_code == 200           # this session goes on
    assert other_client.get("/inbox").status_code == 302     # the other one has ended
    auth.sign_out()
    assert auth.sign_in("bob@partner.example").status_code == 401
    assert auth.sign_in("bob@partner.example", "a brand new passphrase").status_code == 302
    with app.app_context():
        ended = db.session.scalars(select(UserSession).where(
            UserSession.end_reason == "password_changed")).all()
        assert len(ended) == 1
        assert db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type == "Authentication - Password Changed")).one().actor_email == \
            "bob@partner.example"


@pytest.mark.parametrize("fields,field,text", [
    ({"current": "wrong"}, "current_password", "Your current password is not right."),
    ({"new": "short"}, "password", "Choose a password of at least 12 characters."),
    ({"confirm": "something else entirely"}, "confirm_password",
     "The two passwords do not match."),
])
def test_a_refused_change_changes_nothing(app, people, auth, client, fields, field, text):
    auth.sign_in("bob@partner.example")
    response = change(client, auth, **fields)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{text}</p>' in response.get_data(as_text=True)
    auth.sign_out()
    assert auth.sign_in("bob@partner.example").status_code == 302  # old password still works


def test_change_password_needs_a_session_and_a_csrf_token(people, auth, client):
    assert client.get("/password").headers["Location"].startswith("/sign-in?next=/password")
    auth.sign_in("bob@partner.example")
    assert client.post("/password", data={"current_password": "portal-demo-password",
                                          "password": "x" * 20,
                                          "confirm_password": "x" * 20}).status_code == 400


def audit_types(app):
    with app.app_context():
        return db.session.execute(select(AuditLogEntry.type, AuditLogEntry.actor_email,
                                         AuditLogEntry.ip)
                                  .order_by(AuditLogEntry.id)).all()


def test_a_wrong_current_password_is_audited(app, people, auth, client):
    auth.sign_in("bob@partner.example")
    assert change(client, auth, current="wrong").status_code == 400
    assert change(client, auth, new="short").status_code == 400  # right current password
    assert change(client, auth).status_code == 302
    assert audit_types(app)[1:] == [
        ("Authentication - Password Change Failed", "bob@partner.example", "127.0.0.1"),
        ("Authentication - Password Changed", "bob@partner.example", "127.0.0.1"),
    ]


TOO_MANY = "Too many attempts. Wait a minute and try again."


def signed_in_client(app, email, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    auth = AuthActions(client)
    assert auth.sign_in(email).status_code == 302
    return client, auth


def test_change_password_is_limited_per_account(app, people):
    app.config["CHANGE_PASSWORD_LIMIT_PER_ACCOUNT"] = "3 per minute"
    client, auth = signed_in_client(app, "bob@partner.example", "198.51.100.1")
    for _ in range(3):
        assert change(client, auth, current="wrong").status_code == 400
    response = change(client, auth)
    assert response.status_code == 429
    assert TOO_MANY in response.get_data(as_text=True)
    # Another session of the same person, from another address: the same account.
    other, other_auth = signed_in_client(app, "bob@partner.example", "198.51.100.2")
    assert change(other, other_auth).status_code == 429
    # Someone else from the first address is not held back by bob's attempts.
    erin, erin_auth = signed_in_client(app, "erin@partner.example", "198.51.100.1")
    assert change(erin, erin_auth, current="wrong").status_code == 400
    # Nothing was changed, and the refused attempts were never checked or audited.
    assert [t for t, _, _ in audit_types(app)].count(
        "Authentication - Password Change Failed") == 4
    assert AuthActions(app.test_client()).sign_in("bob@partner.example").status_code == 302


def test_change_password_is_limited_per_address(app, people):
    app.config["CHANGE_PASSWORD_LIMIT_PER_IP"] = "2 per minute"
    bob, bob_auth = signed_in_client(app, "bob@partner.example", "198.51.100.3")
    erin, erin_auth = signed_in_client(app, "erin@partner.example", "198.51.100.3")
    assert change(bob, bob_auth, current="wrong").status_code == 400
    assert change(erin, erin_auth, current="wrong").status_code == 400
    assert change(erin, erin_auth).status_code == 429
    # Showing the form is not an attempt; another address is not held back.
    assert erin.get("/password").status_code == 200
    frank, frank_auth = signed_in_client(app, "frank@client.example", "198.51.100.4")
    assert change(frank, frank_auth).status_code == 302
