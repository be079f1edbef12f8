"""Signing in and out through the one sign-in page."""
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditLogEntry, UserSession

LANDINGS = [
    ("full.admin@example.com", "/admin/secure-messaging", "Secure Messaging"),
    ("basic.admin@example.com", "/admin/secure-messaging", "Secure Messaging"),
    ("readonly.admin@example.com", "/admin/secure-messaging", "Secure Messaging"),
    ("alice@example.com", "/sent", "<h1>Sent</h1>"),
    ("dave@example.com", "/sent", "<h1>Sent</h1>"),
    ("bob@partner.example", "/inbox", "<h1>Inbox</h1>"),
    ("erin@partner.example", "/inbox", "<h1>Inbox</h1>"),
    ("frank@client.example", "/inbox", "<h1>Inbox</h1>"),
]


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_sign_in_page_has_the_labelled_fields(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert '<label for="email">Email</label>' in html
    assert '<label for="password">Password</label>' in html
    assert ">Sign in</button>" in html


@pytest.mark.parametrize("email,home,heading", LANDINGS)
def test_each_audience_lands_on_its_home(people, auth, client, email, home, heading):
    response = auth.sign_in(email)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    page = client.get(home).get_data(as_text=True)
    assert heading in page
    assert ">Sign out</button>" in page
    assert email in page


@pytest.mark.parametrize("email,password", [
    ("bob@partner.example", "not-the-password"),
    ("nobody@nowhere.example", "portal-demo-password"),
    ("carol@partner.example", "portal-demo-password"),  # has messages, never registered
])
def test_wrong_password_unknown_and_unregistered_email_read_the_same(app, people, auth, email,
                                                                     password):
    response = auth.sign_in(email, password)
    assert response.status_code == 401
    assert "Email or password is incorrect." in response.get_data(as_text=True)
    assert count(app, UserSession) == 0


def test_failed_and_successful_sign_ins_are_audited(app, people, auth):
    auth.sign_in("bob@partner.example", "wrong")
    auth.sign_in("bob@partner.example")
    with app.app_context():
        types = db.session.scalars(select(AuditLogEntry.type).order_by(AuditLogEntry.id)).all()
    assert types == ["Authentication - Sign In Failed", "Authentication - Signed In"]


def test_empty_form_gets_field_errors(people, auth, client):
    response = client.post("/sign-in", data={"csrf_token": auth.csrf_token()})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your email address." in html
    assert "Enter your password." in html


def test_session_cookie_replayed_after_sign_out_is_refused(app, people, auth, client):
    auth.sign_in("bob@partner.example")
    assert client.get("/inbox").status_code == 200
    stolen = client.get_cookie("session").value
    assert auth.sign_out().headers["Location"].startswith("/sign-in")
    client.set_cookie("session", stolen)
    response = client.get("/inbox")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")
    with app.app_context():
        ended = db.session.scalars(select(UserSession)).one()
        assert ended.ended_at is not None and ended.end_reason == "signed_out"


def test_signing_in_starts_a_new_session(people, auth, client):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    auth.sign_in("bob@partner.example")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"]


def test_post_without_csrf_token_is_refused_and_writes_nothing(app, people, client):
    response = client.post("/sign-in", data={"email": "bob@partner.example",
                                             "password": "portal-demo-password"})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert count(app, UserSession) == 0
    assert count(app, AuditLogEntry) == 0


def test_sign_out_without_csrf_token_keeps_the_session(app, people, auth, client):
    auth.sign_in("bob@partner.example")
    assert client.post("/sign-out").status_code == 400
    assert client.get("/inbox").status_code == 200
    with app.app_context():
        assert db.session.scalars(select(UserSession)).one().ended_at is None


def test_sign_out_is_not_a_get(people, auth, client):
    auth.sign_in("bob@partner.example")
    assert client.get("/sign-out").status_code == 405
    assert client.get("/inbox").status_code == 200


@pytest.mark.parametrize("next_url", [
    "https://evil.example/phish", "//evil.example/phish", "/\\evil.example",
    "http:/evil.example", "javascript:alert(1)",
])
def test_next_pointing_elsewhere_is_ignored(people, auth, next_url):
    response = auth.sign_in("bob@partner.example", next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"


def test_next_on_this_site_is_followed(people, auth, client):
    first = client.get("/inbox?page=2")
    assert first.headers["Location"] == "/sign-in?next=/inbox?page%3D2"
    response = auth.sign_in("bob@partner.example", next_url="/inbox?page=2")
    assert response.headers["Location"] == "/inbox?page=2"


def test_htmx_request_without_a_session_is_sent_to_sign_in(people, client):
    response = client.get("/inbox", headers={"HX-Request": "true",
                                             "HX-Current-URL": "http://portal.test/inbox?page=3"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/sign-in?next=/inbox?page%3D3"
    assert "<form" not in response.get_data(as_text=True)


def test_signed_in_person_visiting_sign_in_goes_home(people, auth, client):
    auth.sign_in("alice@example.com")
    response = client.get("/sign-in")
    assert response.headers["Location"] == "/sent"
