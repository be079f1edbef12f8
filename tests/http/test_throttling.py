"""Throttling: sign-in per account, per address and account, and per address; registration
and link opens per address. (Change password: test_change_password.py.)

Each test sets low limits through app.config; the `app` fixture resets the
counters after every test, so no test inherits another's attempts.
"""
import hashlib
import re
import secrets

import pytest
from limits import parse_many
from sqlalchemy import func, select

import config
from portal.demo.data import DEMO_PASSWORD
from portal.extensions import db
from portal.models import AuditLogEntry, SignInAddress, User
from portal.web.throttling import limiter
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
    for name in ("SIGN_IN_LIMIT_PER_ACCOUNT", "SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP",
                 "SIGN_IN_LIMIT_PER_IP", "CHANGE_PASSWORD_LIMIT_PER_ACCOUNT",
                 "CHANGE_PASSWORD_LIMIT_PER_IP", "REGISTER_LIMIT", "LINK_OPEN_LIMIT"):
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


def test_from_a_known_address_only_the_address_and_account_limit_counts(app, people):
    # Replaces "every attempt counts, successful ones too": that still holds per
    # address and account, and per account for addresses that have never signed in
    # to it. Attempts count before the password is checked, so parallel guesses
    # cannot all pass a check made before any of them was counted.
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP"] = "4 per minute"
    known = "198.51.100.50"
    # A first sign-in from an address counts per account: the address was new then.
    assert sign_in(client_from(app, known), "alice@example.com", DEMO_PASSWORD).status_code == 302
    for _ in range(3):  # more than the per-account limit: the address is known now
        assert sign_in(client_from(app, known), "alice@example.com",
                       DEMO_PASSWORD).status_code == 302
    # Successful ones count too, per address and account.
    assert_too_many(sign_in(client_from(app, known), "alice@example.com", DEMO_PASSWORD))
    # A second new address takes the last per-account attempt; a third finds none left.
    assert sign_in(client_from(app, "198.51.100.51"), "alice@example.com",
                   DEMO_PASSWORD).status_code == 302
    assert_too_many(sign_in(client_from(app, "198.51.100.52"), "alice@example.com",
                            DEMO_PASSWORD))


BOB = "bob@partner.example"
ADDRESS_A, ADDRESS_B, ADDRESS_C = "203.0.113.66", "198.51.100.80", "192.0.2.90"


def test_guessing_from_other_addresses_does_not_lock_the_person_out(app, people):
    # Bob signed in from B on an earlier day (the counters have started afresh since).
    assert sign_in(client_from(app, ADDRESS_B), BOB, DEMO_PASSWORD).status_code == 302
    limiter.reset()
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "5 per minute"
    attacker = client_from(app, ADDRESS_A)
    answers = [sign_in(attacker, BOB).status_code for _ in range(50)]
    assert answers == [401] * 5 + [429] * 45
    # Bob, from the address he has signed in from before, gets in.
    assert sign_in(client_from(app, ADDRESS_B), BOB, DEMO_PASSWORD).status_code == 302
    # A new address is still held back by the per-account limit, right password or not.
    assert_too_many(sign_in(client_from(app, ADDRESS_C), BOB, DEMO_PASSWORD))
    with app.app_context():
        failed = db.session.scalar(select(func.count()).select_from(AuditLogEntry).where(
            AuditLogEntry.type == "Authentication - Sign In Failed"))
    assert failed == 5  # a refused attempt never reached the password check


def test_one_address_guessing_one_account_is_limited_even_from_a_known_address(app, people):
    assert sign_in(client_from(app, ADDRESS_B), BOB, DEMO_PASSWORD).status_code == 302
    limiter.reset()
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP"] = "3 per minute"
    # The attacker at A: per address and account, whatever the per-account limit.
    attacker = client_from(app, ADDRESS_A)
    assert [sign_in(attacker, BOB).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert_too_many(sign_in(attacker, BOB, DEMO_PASSWORD))
    # Someone guessing from bob's own known address B is held back the same way...
    at_b = client_from(app, ADDRESS_B)
    assert [sign_in(at_b, BOB).status_code for _ in range(4)] == [401, 401, 401, 429]
    # ...and neither A nor B is held back for another account.
    assert sign_in(attacker, "alice@example.com", DEMO_PASSWORD).status_code == 302
    assert sign_in(client_from(app, ADDRESS_C), BOB, DEMO_PASSWORD).status_code == 302


def test_the_address_a_person_registered_from_is_known_to_their_account(app, tokens):
    carol = client_from(app, ADDRESS_B)
    path = f"/register/{tokens['carol@partner.example']}"
    page = carol.get(path)
    registered = carol.post(path, data={
        "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        "password": "carol-long-password-1", "confirm_password": "carol-long-password-1"})
    assert registered.status_code == 302
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "5 per minute"
    attacker = client_from(app, ADDRESS_A)
    assert [sign_in(attacker, "carol@partner.example").status_code
            for _ in range(6)] == [401] * 5 + [429]
    # Carol, from where she registered, is not locked out by the guessing.
    assert sign_in(client_from(app, ADDRESS_B), "carol@partner.example",
                   "carol-long-password-1").status_code == 302


def test_known_addresses_are_stored_as_keyed_hashes(app, people):
    assert sign_in(client_from(app, ADDRESS_B), BOB, DEMO_PASSWORD).status_code == 302
    assert sign_in(client_from(app, ADDRESS_B), BOB, DEMO_PASSWORD).status_code == 302
    assert sign_in(client_from(app, ADDRESS_A), BOB).status_code == 401  # never signed in
    with app.app_context():
        rows = db.session.execute(select(User.email, SignInAddress.address_hash)
                                  .join(User, User.id == SignInAddress.user_id)).all()
    assert [(email, len(stored)) for email, stored in rows] == [(BOB, 64)]
    assert ADDRESS_B not in rows[0].address_hash
    assert rows[0].address_hash != hashlib.sha256(ADDRESS_B.encode()).hexdigest()


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
