"""Parallel guesses against one account on a real server: the per-account limit holds.

Guesses arrive at the same moment from many addresses that have never signed in
to bob's account, on the threaded development server (one process, so the
default memory:// counters are the ones every request meets; several gunicorn
workers need a shared store such as redis). Each attempt is counted before its
password is checked, so no more guesses are checked than the limit allows,
however many arrive together, and bob, from the address he signs in from, still
gets in.
"""
import threading
import uuid

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.demo.data import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.models import AuditLogEntry
from tests.processes.clients import Browser
from tests.processes.servers import ServerProcess, app_settings
from tests.support.databases import migrate_to_head

BOB = "bob@partner.example"
BOBS_ADDRESS = "198.51.100.200"
LIMIT = 5
GUESSES = 40
TOO_MANY = "Too many attempts. Wait a minute and try again."


@pytest.fixture
def portal(backend, databases, tmp_path):
    url = databases.fresh_url(backend, f"sign_in_{uuid.uuid4().hex[:8]}")
    migrate_to_head(url)
    app = create_app("development", overrides=app_settings("development", url))
    with app.app_context():
        load_demo_data(message_count=0)
        db.session.remove()
        db.engine.dispose()
    # One trusted proxy hop: each client names its address in X-Forwarded-For.
    server = ServerProcess.dev_server(url, tmp_path / "server.log", TRUSTED_PROXY_HOPS="1",
                                      SIGN_IN_LIMIT_PER_ACCOUNT=f"{LIMIT} per minute").start()
    try:
        yield app, server
    finally:
        server.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def attempt(base, address, password):
    """One sign-in through the real form, from `address`; returns the reply."""
    browser = Browser(base)
    at = {"X-Forwarded-For": address}
    browser.take_csrf_token(browser.get("/sign-in", headers=at))
    return lambda: browser.request("POST", "/sign-in", headers=at, form={
        "email": BOB, "password": password, "csrf_token": browser.csrf_token})


def test_parallel_guesses_from_new_addresses_stay_within_the_account_limit(portal):
    app, server = portal
    # Bob's address becomes known (this first sign-in takes one of the account's attempts).
    assert attempt(server.url, BOBS_ADDRESS, DEMO_PASSWORD)().status == 302

    guesses = [attempt(server.url, f"203.0.113.{n + 1}", f"guess-{n}") for n in range(GUESSES)]
    bob = attempt(server.url, BOBS_ADDRESS, DEMO_PASSWORD)
    senders = guesses + [bob]
    together = threading.Barrier(len(senders))
    replies = [None] * len(senders)

    def fire(index):
        together.wait(30)
        replies[index] = senders[index]()

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    *guessed, bobs = replies
    statuses = [reply.status for reply in guessed]
    checked = statuses.count(401)
    assert checked <= LIMIT - 1, statuses
    assert statuses.count(429) == GUESSES - checked, statuses
    assert all(TOO_MANY in reply.text for reply in guessed if reply.status == 429)
    assert bobs.status == 302  # from his known address, in the middle of it all
    with app.app_context():
        failed = db.session.scalar(select(func.count()).select_from(AuditLogEntry).where(
            AuditLogEntry.type == "Authentication - Sign In Failed"))
        db.session.remove()
    assert failed == checked
    assert server.trouble() == []
