"""Logs: one JSON line per request, and never a secret in any log line.

The canary test plants a password, the session cookie, link tokens, message
bodies and CSRF tokens through real requests, captures every record of every
logger at DEBUG, and searches every formatted line for them, error paths included.
"""
import json
import logging
import secrets
import socket
import threading
import urllib.request
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from portal.demo.data import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Delivery, SecureMessage
from portal.web.request_log import RequestHandlerWithoutAccessLog
from tests.conftest import AuthActions
from tests.http.test_compose import compose
from tests.support.factories import csrf_token_from, send


@pytest.fixture
def log_lines(app, caplog, monkeypatch, request):
    """Every log line from every logger, formatted as a handler would write it."""
    # Alembic's logging setup (the migrations, run when the first app is built) takes
    # the root logger's handlers away, pytest's capture among them: put it back.
    root = logging.getLogger()
    if caplog.handler not in root.handlers:
        root.addHandler(caplog.handler)
        request.addfinalizer(lambda: root.removeHandler(caplog.handler))
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    # SQL statements too (their parameters must be hidden), but not result rows:
    # the portal keeps that logger above DEBUG unless told otherwise.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        # Alembic's logging setup, run by the migrations, disables loggers made before it.
        monkeypatch.setattr(logger, "disabled", False)
        if not logger.propagate:  # portal.requests writes its own lines: send them up too
            monkeypatch.setattr(logger, "propagate", True)
    # The fixtures' requests (setup) and the test's own (call).
    return lambda: [caplog.handler.format(record)
                    for record in caplog.get_records("setup") + caplog.records]


def request_log_entries(lines):
    entries = []
    for line in lines:
        try:
            entry = json.loads(line[line.index("{"):])  # after the handler's prefix
        except ValueError:
            continue
        if isinstance(entry, dict) and "request_id" in entry:
            entries.append(entry)
    return entries


class Canaries:
    def __init__(self):
        self.values = {}

    def add(self, name, value):
        assert value and len(value) >= 12, name
        self.values[name] = value
        return value

    def found_in(self, lines):
        return sorted({name for line in lines for name, value in self.values.items()
                       if value in line})


def a_browser(app):
    return app.test_client()


def csrf_of(client, canaries, path="/sign-in"):
    token = csrf_token_from(client.get(path, follow_redirects=True).get_data(as_text=True))
    canaries.add(f"csrf token {len(canaries.values)}", token)
    return token


def session_cookie(app, client):
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


@pytest.fixture
def planted(app, people, log_lines):
    """A day at the portal, through real requests, with a canary in every secret."""
    canaries = Canaries()
    link_body = canaries.add("body of a linked message", f"link-body-{secrets.token_hex(8)}")
    with app.app_context():
        message, tokens = send(people["alice@example.com"],
                               ["bob@partner.example", "carol@partner.example"], body=link_body)
        token_of = {d.recipient.email: tokens[d.id] for d in message.deliveries}
        db.session.remove()
    bob_token = canaries.add("bob's link token", token_of["bob@partner.example"])
    carol_token = canaries.add("carol's link token", token_of["carol@partner.example"])

    # A wrong password, then alice signs in and composes.
    alice = a_browser(app)
    wrong = canaries.add("a mistyped password", f"wrong-{secrets.token_hex(8)}")
    alice.post("/sign-in", data={"email": "alice@example.com", "password": wrong,
                                 "csrf_token": csrf_of(alice, canaries)})
    assert alice.post("/sign-in", data={"email": "alice@example.com", "password": DEMO_PASSWORD,
                                        "csrf_token": csrf_of(alice, canaries)}).status_code == 302
    canaries.add("alice's session cookie", session_cookie(app, alice))
    composed = canaries.add("body of a composed message", f"compose-body-{secrets.token_hex(8)}")
    sent = compose(alice, AuthActions(alice), body=composed, subject="Canary subject")
    assert sent.status_code == 302

    # carol registers from her link with a new password, then reads.
    carol = a_browser(app)
    assert carol.get(f"/m/{carol_token}").headers["Location"] == f"/register/{carol_token}"
    password = canaries.add("carol's new password", f"Carol-Pass-{secrets.token_hex(8)}")
    registered = carol.post(f"/register/{carol_token}", data={
        "password": password, "confirm_password": password,
        "csrf_token": csrf_of(carol, canaries, f"/register/{carol_token}")})
    assert registered.status_code == 302
    canaries.add("carol's session cookie", session_cookie(app, carol))
    assert link_body in carol.get(f"/m/{carol_token}").get_data(as_text=True)

    # bob opens his link signed out, signs in, and reads by link and in the Inbox.
    bob = a_browser(app)
    assert bob.get(f"/m/{bob_token}").status_code == 302
    assert bob.post("/sign-in", data={"email": "bob@partner.example", "password": DEMO_PASSWORD,
                                      "next": f"/m/{bob_token}",
                                      "csrf_token": csrf_of(bob, canaries)}).status_code == 302
    canaries.add("bob's session cookie", session_cookie(app, bob))
    assert link_body in bob.get(f"/m/{bob_token}").get_data(as_text=True)
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).join(SecureMessage).where(
            SecureMessage.subject == "Canary subject"))
    assert composed in bob.get(f"/inbox/{delivery_id}").get_data(as_text=True)
    return canaries, {"bob": bob, "bob_token": bob_token}


def test_no_secret_reaches_any_log_line(planted, log_lines):
    canaries, _ = planted
    lines = log_lines()
    assert canaries.found_in(lines) == []
    # The capture works: the request log is there, naming routes, never paths.
    entries = request_log_entries(lines)
    routes = {entry["route"] for entry in entries}
    assert {"/sign-in", "/compose", "/register/<token>", "/m/<token>",
            "/inbox/<int:delivery_id>"} <= routes


def test_an_error_in_a_view_is_logged_without_its_values(app, planted, log_lines, monkeypatch):
    canaries, people = planted

    def broken(*args, **kwargs):
        values = " ".join(canaries.values.values())
        try:
            raise KeyError(values)
        except KeyError as error:
            raise RuntimeError(f"could not show {values}") from error

    monkeypatch.setattr("portal.recipient.views.open_message_from_link", broken)
    response = people["bob"].get(f"/m/{people['bob_token']}")
    assert response.status_code == 500
    lines = log_lines()
    assert canaries.found_in(lines) == []
    error_lines = [line for line in lines if "unhandled error" in line]
    assert len(error_lines) == 1
    assert "GET /m/<token>" in error_lines[0]
    assert "builtins.RuntimeError (message not logged)" in error_lines[0]
    assert "builtins.KeyError (message not logged)" in error_lines[0]
    assert response.headers["X-Request-ID"] in error_lines[0]


def test_an_error_in_the_error_handler_is_logged_without_its_values(app, planted, log_lines,
                                                                     monkeypatch):
    # Flask then logs it itself, in a line that would name the raw path.
    from portal.web import errors

    canaries, people = planted
    app.config["PROPAGATE_EXCEPTIONS"] = False
    secret = " ".join(canaries.values.values())
    failures = []

    def broken(*args, **kwargs):
        raise RuntimeError(secret)

    def error_page_failing_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            broken()
        return render_error(*args, **kwargs)

    render_error = errors.render_error
    monkeypatch.setattr("portal.recipient.views.open_message_from_link", broken)
    monkeypatch.setattr(errors, "render_error", error_page_failing_once)
    response = people["bob"].get(f"/m/{people['bob_token']}")
    assert response.status_code == 500
    lines = log_lines()
    assert canaries.found_in(lines) == []
    assert len([line for line in lines if "unhandled error in GET /m/<token>" in line]) == 2


@contextmanager
def served(app, handler):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def fetch_over_http(address, token):
    with urllib.request.urlopen(f"http://{address}/m/{token}?again={token}") as response:
        assert response.status == 200 or response.status == 204
    # A malformed request: http.server quotes the raw request line in its error.
    with socket.create_connection(address.split(":")) as raw:
        raw.sendall(f"GET /m/{token} HTTP/9.9\r\n\r\n".encode())
        raw.recv(1024)


@pytest.mark.parametrize("handler,quiet", [(RequestHandlerWithoutAccessLog, True),
                                           (WSGIRequestHandler, False)],
                         ids=["flask serve", "werkzeug's own"])
def test_the_development_server_logs_no_raw_path(app, people, log_lines, handler, quiet):
    with app.app_context():
        message, tokens = send(people["alice@example.com"], ["bob@partner.example"])
        token = tokens[message.deliveries[0].id]
        db.session.remove()
    with served(app, handler) as address:
        fetch_over_http(address, token)
    lines = log_lines()
    assert any(token in line for line in lines) is not quiet
    # The portal's own line for that request names the route.
    assert any(entry["route"] == "/m/<token>" for entry in request_log_entries(lines))


# --- The request log line ----------------------------------------------------

def test_each_request_has_one_line_with_the_facts(app, people, auth, log_lines):
    auth.sign_in("alice@example.com")
    response = auth.client.get("/sent", headers={"X-Request-ID": "edge-7f3a.01_B"})
    assert response.headers["X-Request-ID"] == "edge-7f3a.01_B"
    entries = [e for e in request_log_entries(log_lines()) if e["request_id"] == "edge-7f3a.01_B"]
    assert len(entries) == 1
    entry = entries[0]
    with app.app_context():
        alice_id = people["alice@example.com"].id
    assert entry == {"request_id": "edge-7f3a.01_B", "method": "GET", "route": "/sent",
                     "endpoint": entry["endpoint"], "status": response.status_code,
                     "duration_ms": entry["duration_ms"], "user_id": alice_id}
    assert entry["endpoint"] and entry["duration_ms"] >= 0


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 65, "quote\"s", "ü-nicode",
                                      "semi;colon=1"])
def test_an_unsafe_request_id_is_replaced(client, log_lines, incoming):
    response = client.get("/sign-in", headers={"X-Request-ID": incoming} if incoming else {})
    generated = response.headers["X-Request-ID"]
    assert generated != incoming and len(generated) == 32
    [entry] = request_log_entries(log_lines())
    assert entry["request_id"] == generated
    assert entry["user_id"] is None


def test_a_request_answered_early_is_logged_too(client, log_lines):
    # The access policy and the 404 handler answer before any view runs.
    assert client.get("/inbox").status_code == 302
    assert client.get(f"/nowhere/{secrets.token_hex(8)}").status_code == 404
    entries = request_log_entries(log_lines())
    assert [(e["route"], e["status"]) for e in entries] == [("/inbox", 302), (None, 404)]
    assert all(e["duration_ms"] is not None for e in entries)
