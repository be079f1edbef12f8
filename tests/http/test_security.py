"""Security headers on every response, cookie policy, session expiry, the client IP."""
import base64
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import config
from portal import create_app
from portal.extensions import db
from portal.models import AuditLogEntry, UserSession, utcnow
from tests.conftest import AuthActions
from tests.support.factories import send
from tests.support.headers import assert_security_headers


@pytest.fixture
def token(app, people):
    with app.app_context():
        message, tokens = send(people["alice@example.com"], ["bob@partner.example"])
        value = tokens[message.deliveries[0].id]
        db.session.remove()
    return value


def test_every_kind_of_response_carries_the_headers(app, people, auth, client, token):
    cases = {
        "sign-in page": client.get("/sign-in"),
        "static file": client.get("/static/css/portal.css"),
        "not found": client.get("/no-such-page"),
        "wrong method": client.delete("/sign-in"),
        "csrf refusal": client.post("/sign-in", data={"email": "x"}),
        "link not valid": client.get("/m/not-a-token"),
        "link redirect": client.get(f"/m/{token}"),
    }
    auth.sign_in("bob@partner.example")
    cases["inbox page"] = client.get("/inbox")
    cases["forbidden"] = client.get("/admin/secure-messaging")
    auth.sign_out()
    auth.sign_in("readonly.admin@example.com")
    cases["htmx fragment"] = client.get("/admin/secure-messaging", headers={
        "HX-Request": "true", "HX-Target": "search-results"})
    for where, response in cases.items():
        assert_security_headers(response, where)
        if where != "static file":
            assert response.headers["Cache-Control"] == "no-store", where


def test_an_unexpected_error_carries_the_headers_too(app, people, auth, client, monkeypatch):
    import portal.recipient.views as views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "inbox_of", broken)
    auth.sign_in("bob@partner.example")
    response = client.get("/inbox")
    assert response.status_code == 500
    assert_security_headers(response, "500")
    assert "boom" not in response.get_data(as_text=True)


def production_app(database_url, **overrides):
    return create_app(config.ProductionConfig, overrides={
        "SECRET_KEY": "p" * 64, "SQLALCHEMY_DATABASE_URI": database_url,
        "MESSAGE_KEYS": "k1:" + base64.b64encode(b"k" * 32).decode(), "MESSAGE_KEY_ID": "k1",
        **overrides})


def test_production_cookie_and_hsts(database_url, people):
    app = production_app(database_url)
    client = app.test_client()
    response = AuthActions(client).sign_in("bob@partner.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
        assert flag in cookie
    assert "Domain=" not in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_development_cookie_is_httponly_and_lax_without_hsts(people, auth):
    response = auth.sign_in("bob@partner.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in response.headers


def test_a_signed_out_visitor_gets_no_session(app, people, client, token):
    for path in ("/", f"/m/{token}", "/inbox"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
    with app.app_context():
        assert db.session.scalars(select(UserSession)).all() == []


def age_session(app, **ages):
    with app.app_context():
        values = {column: utcnow() - age for column, age in ages.items()}
        db.session.execute(update(UserSession).values(**values))
        db.session.commit()


@pytest.mark.parametrize("email,idle,ends", [
    ("bob@partner.example", timedelta(minutes=29), False),
    ("bob@partner.example", timedelta(minutes=31), True),
    ("readonly.admin@example.com", timedelta(minutes=14), False),
    ("readonly.admin@example.com", timedelta(minutes=16), True),
])
def test_idle_sessions_end(app, people, auth, client, email, idle, ends):
    auth.sign_in(email)
    age_session(app, last_seen_at=idle)
    home = "/inbox" if "partner" in email else "/admin/secure-messaging"
    response = client.get(home)
    assert (response.status_code == 302) is ends
    if ends:
        with app.app_context():
            assert db.session.scalars(select(UserSession)).one().end_reason == "idle_timeout"


@pytest.mark.parametrize("email,age,ends", [
    ("bob@partner.example", timedelta(hours=11), False),
    ("bob@partner.example", timedelta(hours=13), True),
    ("readonly.admin@example.com", timedelta(hours=9), True),
])
def test_sessions_end_after_their_lifetime_however_busy(app, people, auth, client, email, age,
                                                        ends):
    auth.sign_in(email)
    age_session(app, created_at=age)
    home = "/inbox" if "partner" in email else "/admin/secure-messaging"
    assert (client.get(home).status_code == 302) is ends


def test_timeouts_are_configurable(app, people, auth, client):
    app.config["SESSION_IDLE_MINUTES"] = 5
    auth.sign_in("bob@partner.example")
    age_session(app, last_seen_at=timedelta(minutes=6))
    assert client.get("/inbox").status_code == 302


@pytest.mark.parametrize("hops,forwarded,expected", [
    (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),   # only the hop our proxy added counts
    (0, "6.6.6.6", "127.0.0.1"),                     # no proxy configured: header ignored
    # More hops configured than there are proxies: the client wrote what is read as
    # the address. Not an address, so none is recorded (and nothing fails to fit).
    (2, "<script>" * 20 + ", 198.51.100.7", None),
])
def test_the_client_ip_comes_from_trusted_hops_only(database_url, people, hops, forwarded,
                                                    expected):
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": database_url,
                                        "TRUSTED_PROXY_HOPS": hops})
    client = app.test_client()
    page = client.get("/sign-in", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    from tests.support.factories import csrf_token_from

    client.post("/sign-in", data={"email": "bob@partner.example",
                                  "password": "portal-demo-password",
                                  "csrf_token": csrf_token_from(page.get_data(as_text=True))},
                headers={"X-Forwarded-For": forwarded},
                environ_base={"REMOTE_ADDR": "127.0.0.1"})
    with app.app_context():
        entry = db.session.scalars(select(AuditLogEntry)).one()
        assert entry.type == "Authentication - Signed In"
        assert entry.ip == expected
        db.session.remove()
        db.engine.dispose()


def test_production_forms_work_over_https_without_a_referer(database_url, people):
    """Referrer-Policy is no-referrer, so browsers post forms with no Referer at all."""
    app = production_app(database_url)
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://portal.example")
    from tests.support.factories import csrf_token_from

    response = client.post("/sign-in", base_url="https://portal.example", data={
        "email": "bob@partner.example", "password": "portal-demo-password",
        "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"


def test_a_throttled_answer_carries_the_headers(app, people, client, auth):
    app.config["SIGN_IN_LIMIT_PER_IP"] = "2 per minute"
    for _ in range(2):
        auth.sign_in("bob@partner.example", "wrong")
    response = auth.sign_in("bob@partner.example", "wrong")
    assert response.status_code == 429
    assert_security_headers(response, "429")
    assert "Retry-After" in response.headers
