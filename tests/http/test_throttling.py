"""Throttling: sign-in per account and per address, registration and link opens per address.

Each test sets low limits through app.config; the `app` fixture resets the
counters after every test, so no test inherits another's attempts.
"""
import re
import secrets

import pytest
from limits import parse_many

import config
from portal.demo.loader import DEMO_PASSWORD
from tests.conftest import AuthActions
from tests.support.factories import csrf_token_from, send

TOO_MANY = "Too many attempts. Wait a minute and try again."
UNKNOWN = "nobody.here@example.com"
# CSRF tokens differ per session (and per second): in the meta tag, hx-headers, form field.
CSRF_TOKEN = re.compile(r'(csrf[^>]*?(?:value|content)="|"X-CSRFToken": ")[^"]+', re.IGNORECASE)


def client_from(app, address="198.51.100.7"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, email, password="not-the-password"):
    return AuthActions(client).sign_in(email, password)


def assert_too_many(response):
    assert response.status_code == 429
    assert TOO_MANY in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # a minute, rounded up


@pytest.fixture
def tokens(app, people):
    """Link tokens of alice's message to bob (registered) and carol (not registered)."""
    with app.app_context():
        message, tokens = send(people["alice@example.com"],
                               ["bob@partner.example", "carol@partner.example"])
        return {d.recipient.email: tokens[d.id] for d in message.deliveries}


def test_the_default_limits_are_valid_limit_strings():
    for name in ("SIGN_IN_LIMIT_PER_ACCOUNT", "SIGN_IN_LIMIT_PER_IP", "REGISTER_LIMIT",
                 "LINK_OPEN_LIMIT"):
        assert parse_many(getattr(config.Config, name))
    assert config.Config.RATELIMIT_STORAGE_URI == "memory://"


@pytest.mark.parametrize("email", ["alice@example.com", UNKNOWN])
def test_sign_in_is_limited_per_account_known_or_not(app, people, email):
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    for n in range(3):
        # A new address each time: only the per-account counter can be what stops it.
        assert sign_in(client_from(app, f"198.51.100.{n}"), email).status_code == 401
    assert_too_many(sign_in(client_from(app, "198.51.100.99"), email))
    # The right password does not get through the limit either.
    assert_too_many(sign_in(client_from(app, "198.51.100.98"), email, DEMO_PASSWORD))
    # Another account is not affected.
    assert sign_in(client_from(app), "bob@partner.example", DEMO_PASSWORD).status_code == 302


def test_the_account_is_the_email_as_sign_in_normalises_it(app, people):
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    client = client_from(app)
    assert sign_in(client, "alice@example.com").status_code == 401
    assert sign_in(client, "  ALICE@Example.com ").status_code == 401
    assert_too_many(sign_in(client, "Alice@example.com"))


def test_every_attempt_counts_successful_ones_too(app, people):
    # deduct_when is not used: it checks before the view and counts after it, so
    # parallel guesses would all pass. A person signing in 3 times a minute is rare.
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    for _ in range(2):
        assert sign_in(client_from(app), "alice@example.com", DEMO_PASSWORD).status_code == 302
    assert_too_many(sign_in(client_from(app), "alice@example.com", DEMO_PASSWORD))


def test_known_and_unknown_emails_get_identical_answers(app, people):
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "1 per minute"
    answers = {}
    for email in ("alice@example.com", UNKNOWN):
        client = client_from(app)
        first, second = sign_in(client, email), sign_in(client, email)
        answers[email] = [(r.status_code, CSRF_TOKEN.sub(r"\1CSRF", r.get_data(as_text=True))
                           .replace(email, "EMAIL")) for r in (first, second)]
    assert [status for status, _ in answers["alice@example.com"]] == [401, 429]
    assert answers["alice@example.com"] == answers[UNKNOWN]


def test_sign_in_is_limited_per_address(app, people):
    app.config["SIGN_IN_LIMIT_PER_IP"] = "3 per minute"
    client = client_from(app, "203.0.113.20")
    for n in range(3):
        assert sign_in(client, f"someone{n}@example.com").status_code == 401
    assert_too_many(sign_in(client, "alice@example.com", DEMO_PASSWORD))
    # The sign-in page itself still shows, and another address still signs in.
    assert client.get("/sign-in").status_code == 200
    assert sign_in(client_from(app, "203.0.113.21"), "alice@example.com",
                   DEMO_PASSWORD).status_code == 302


def test_showing_the_sign_in_page_is_not_an_attempt(app):
    app.config["SIGN_IN_LIMIT_PER_IP"] = "1 per minute"
    client = client_from(app)
    for _ in range(5):
        assert client.get("/sign-in").status_code == 200
    assert sign_in(client, UNKNOWN).status_code == 401


def test_registration_is_limited_per_address(app, tokens):
    app.config["REGISTER_LIMIT"] = "2 per minute"
    path = f"/register/{tokens['carol@partner.example']}"
    client = client_from(app)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "short", "confirm_password": "short",
                                       "csrf_token": csrf_token_from(
                                           client.get("/sign-in").get_data(as_text=True))})
    assert response.status_code == 400
    # Guessed tokens count as well: each try tells whether a token is valid.
    assert_too_many(client.get(f"/register/{secrets.token_urlsafe(32)}"))
    assert_too_many(client.get(path))
    assert client_from(app, "203.0.113.30").get(path).status_code == 200


def test_link_opens_are_limited_per_address(app, tokens):
    app.config["LINK_OPEN_LIMIT"] = "3 per minute"
    client = client_from(app)
    assert client.get(f"/m/{tokens['bob@partner.example']}").status_code == 302
    assert client.head(f"/m/{tokens['bob@partner.example']}").status_code == 204
    assert client.get(f"/m/{secrets.token_urlsafe(32)}").status_code == 404
    response = client.get(f"/m/{tokens['bob@partner.example']}")
    assert_too_many(response)
    assert client_from(app, "203.0.113.40").get(
        f"/m/{tokens['bob@partner.example']}").status_code == 302


@pytest.mark.parametrize("attempt", range(2))
def test_every_test_starts_with_fresh_counters(app, people, attempt):
    # Run twice: the second run would meet the first one's attempts if they were kept.
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "1 per minute"
    assert sign_in(client_from(app), "alice@example.com").status_code == 401
    assert_too_many(sign_in(client_from(app), "alice@example.com"))
