"""Changing one's password: checked, audited, and every other session ends."""
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
