"""Request cost: every signed-in page of the portal beside the hand-written floor, in one process.

    make request-cost                                       # SQLite, then PostgreSQL
    .venv/bin/python benchmarks/request_cost.py --databases sqlite --requests 500
    .venv/bin/python benchmarks/request_cost.py --pages admin,details   # some pages only

One database per run, built through the portal's own services (the demo data,
3,000 messages by default, and one more message to bob for the pane and the
viewer), the production configuration (headers, cookies, logging), and two apps
on it in this process: the portal and the floor (benchmarks/floor, the same
pages on plain SQL; tests/http/test_request_cost_floor.py keeps them showing the
same rows and writing the same evidence). Each request is a direct WSGI call
with the session cookie of a real sign-in; its CPU time is time.process_time()
around the call (this process only: PostgreSQL's own work is in its server
processes and not counted). Portal and floor requests alternate, each page
turn about, so drift (caches, frequency, the other tenants of the machine)
falls on both alike. SQL statements per request are counted with SQLAlchemy's
engine events for the portal (pool pre-ping's round trip is not among them)
and in the floor's own store; commits likewise.

Prints a Markdown table per database, ready to paste into
docs/evidence-and-benchmarks.md, with the bare Flask endpoint
(benchmarks/bare_app.py) measured in the same run. PostgreSQL runs in a
throwaway cluster on loopback (tests/support/postgres.py).
"""
import argparse
import base64
import gc
import io
import logging
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.test import EnvironBuilder  # noqa: E402

RECIPIENT = "bob@partner.example"
SENDER = "alice@example.com"
ADMIN = "basic.admin@example.com"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SUBJECT = "Request cost benchmark"
BODY = "Hello,\nthe figures for the benchmark.\n\nKind regards"
PANE = {"HX-Request": "true", "HX-Target": "reading-pane"}
DETAILS = {"HX-Request": "true", "HX-Target": "details-panel"}
GOAL = 1.5


def portal_app(url):
    from portal import create_app

    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return create_app("production", overrides={
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(32),
        "MESSAGE_KEYS": f"bench:{key}", "MESSAGE_KEY_ID": "bench",
        # One client address for every request: lift the per-address limits.
        "LINK_OPEN_LIMIT": "1000000 per minute", "SIGN_IN_LIMIT_PER_IP": "1000 per minute",
        # Sign-in is not measured; the demo loader hashes each account's password.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })


def prepare(app, messages):
    """Migrate, load the demo data and send bob two more messages: one to read (the pane
    and the viewer write evidence on it at every request), one read once, as most are,
    for Message Details. Returns (delivery id, link token, Message Details' message id)."""
    from flask_migrate import upgrade

    from portal.demo.data import load_demo_data
    from portal.extensions import db
    from portal.messaging.reading import record_link_opened, record_view
    from portal.models import ViewChannel
    from portal.settings import current_settings
    from tests.support.factories import TEST_REQUEST, send, user_by_email

    with app.app_context():
        upgrade()
        load_demo_data(message_count=messages)
        sender = user_by_email(SENDER)
        message, tokens = send(sender, [RECIPIENT], subject=SUBJECT, body=BODY)
        delivery_id = next(d.id for d in message.deliveries if d.recipient.email == RECIPIENT)
        details, _ = send(sender, [RECIPIENT, "erin@partner.example"],
                          cc=["dave@example.com"], subject=f"{SUBJECT}: details", body=BODY)
        read = details.deliveries[0]
        record_link_opened(read, signed_in=False, request_info=TEST_REQUEST)
        record_view(read.recipient, read, ViewChannel.DIRECT_LINK,
                    read_status_mode=current_settings().read_status_mode,
                    request_info=TEST_REQUEST)
        found = delivery_id, tokens[delivery_id], details.id
        db.session.remove()
    return found


def session_cookie(app, email):
    """The cookie of a real sign-in through the portal's form (CSRF token and all), from
    the browser and address the measured requests come from: a session used from
    elsewhere is marked no longer fresh, and its cookie signed again, at every request."""
    from portal.demo.data import DEMO_PASSWORD
    from tests.support.factories import csrf_token_from

    client = app.test_client()
    base = "https://localhost"
    browser = {"User-Agent": BROWSER}
    page = client.get("/sign-in", base_url=base, headers=browser).get_data(as_text=True)
    response = client.post("/sign-in", base_url=base, headers=browser, data={
        "email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_token_from(page)})
    if response.status_code != 302:
        raise RuntimeError(f"signing in as {email} failed ({response.status_code})")
    name = app.config["SESSION_COOKIE_NAME"]
    return f"{name}={client.get_cookie(name, domain='localhost').value}"


class Call:
    """One request as a direct WSGI call: the environ is built once, copied per call."""

    def __init__(self, app, path, headers, sink):
        builder = EnvironBuilder(path=path, base_url="https://localhost", headers=headers,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1",
                                               "HTTP_USER_AGENT": BROWSER},
                                 errors_stream=sink)
        self.environ = builder.get_environ()
        builder.close()
        self.app = app

    def __call__(self):
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO()
        status = []
        result = self.app(environ, lambda s, h, exc_info=None: status.append(s))
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return status[0], body


class PortalCounter:
    """Statements and commits on the portal's engine."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements = self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *args):
        self.statements += 1

    def _commit(self, *args):
        self.commits += 1


class Side:
    """One app under measurement: its calls and its counts."""

    def __init__(self, name, counts):
        self.name = name
        self.counts = counts  # () -> (statements, commits) so far

    def run(self, call, record):
        statements, commits = self.counts()
        started = time.process_time()
        status, body = call()
        elapsed = time.process_time() - started
        after = self.counts()
        if not status.startswith("200"):
            raise RuntimeError(f"{self.name} answered {status}: not what we measure")
        record.append((elapsed * 1000, after[0] - statements, after[1] - commits))
        return body


def measure(pairs, requests, warmup):
    """Alternate the sides' calls (ABBA...) `requests` times each; per side the records."""
    records = [[] for _ in pairs]
    for _ in range(warmup):
        for side, call in pairs:
            side.run(call, [])
    gc.collect()
    for i in range(requests):
        order = list(enumerate(pairs))
        if i % 2:
            order.reverse()
        for index, (side, call) in order:
            side.run(call, records[index])
    return records


def summary(record):
    cpu = statistics.median(r[0] for r in record)
    sql = statistics.median_low(r[1] for r in record)
    commits = statistics.median_low(r[2] for r in record)
    return cpu, sql, commits


def run(label, url, args):
    from benchmarks.bare_app import app as bare
    from benchmarks.floor import create_floor_app
    from portal.extensions import db

    started = time.perf_counter()
    portal = portal_app(url)
    logging.getLogger("portal.requests").setLevel(logging.INFO)
    delivery_id, token, message_id = prepare(portal, args.messages)
    floor = create_floor_app(portal.config)
    store = floor.extensions["floor_store"]
    with portal.app_context():
        portal_counts = PortalCounter(db.engine)
    built = time.perf_counter() - started

    sink = open(os.devnull, "w")  # noqa: SIM115  (the request-log lines of both apps)
    cookies = {email: {"Cookie": session_cookie(portal, email)}
               for email in (RECIPIENT, SENDER, ADMIN)}
    pages = [
        ("Inbox", "/inbox", cookies[RECIPIENT], SUBJECT),
        ("Reading pane (htmx)", f"/inbox/{delivery_id}", {**cookies[RECIPIENT], **PANE},
         "the figures for the benchmark"),
        ("Message viewer (/m/<token>)", f"/m/{token}", cookies[RECIPIENT],
         "the figures for the benchmark"),
        ("Sent", "/sent", cookies[SENDER], SUBJECT),
        ("Admin search (48 h)", "/admin/secure-messaging", cookies[ADMIN], SUBJECT),
        ("Message Details (htmx)", f"/admin/secure-messaging/messages/{message_id}",
         {**cookies[ADMIN], **DETAILS}, RECIPIENT),
    ]
    if args.pages:
        wanted = [w.strip().lower() for w in args.pages.split(",")]
        pages = [page for page in pages if any(w in page[0].lower() for w in wanted)]
    portal_side = Side("portal", lambda: (portal_counts.statements, portal_counts.commits))
    floor_side = Side("floor", lambda: (store.statements, store.commits))
    rows = []
    try:
        for name, path, headers, expect in pages:
            calls = [(side, Call(app, path, headers, sink))
                     for side, app in ((portal_side, portal), (floor_side, floor))]
            for side, call in calls:
                if expect not in side.run(call, []).decode():
                    raise RuntimeError(f"{side.name} {path} does not show {expect!r}")
            portal_record, floor_record = measure(calls, args.requests, args.warmup)
            rows.append((name, summary(portal_record), summary(floor_record)))
            print(f"  {label}: {name} measured", file=sys.stderr, flush=True)
        bare_side = Side("bare Flask", lambda: (0, 0))
        bare_record, = measure([(bare_side, Call(bare, "/", {}, sink))], args.requests,
                               args.warmup)
        bare_cpu = summary(bare_record)[0]
    finally:
        sink.close()
        store.close()
        with portal.app_context():
            db.session.remove()
            db.engine.dispose()

    print(f"\n### {label}: {args.messages:,} demo messages\n")
    print(f"{date.today().isoformat()}, {os.cpu_count()} cores ({platform.machine()}, "
          f"Python {platform.python_version()}); median CPU time of {args.requests} requests "
          f"per page and app, portal and floor alternating; data built in {built:.0f} s.\n")
    print("| page | portal CPU ms | floor CPU ms | ratio | portal SQL/commits "
          "| floor SQL/commits |")
    print("|---|---:|---:|---:|---:|---:|")
    over = []
    for name, (p_cpu, p_sql, p_commits), (f_cpu, f_sql, f_commits) in rows:
        ratio = p_cpu / f_cpu
        if ratio > GOAL:
            over.append(name)
        print(f"| {name} | {p_cpu:.2f} | {f_cpu:.2f} | {ratio:.2f}× | {p_sql} / {p_commits} "
              f"| {f_sql} / {f_commits} |")
    print(f"| bare Flask endpoint (benchmarks/bare_app.py) | | {bare_cpu:.2f} | | | 0 / 0 |")
    verdict = (f"every page within {GOAL}× of the floor" if not over else
               f"over {GOAL}× of the floor: {', '.join(over)}")
    print(f"\n{label}: {verdict}.")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=300, help="per page and app")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--pages", default="",
                        help="only the pages whose names contain one of these "
                             "comma-separated words (e.g. admin,details)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portal-request-cost-") as tmp:
        for name in args.databases.split(","):
            if name == "sqlite":
                run("SQLite", f"sqlite:///{Path(tmp) / 'portal.sqlite3'}", args)
            elif name == "postgresql":
                from tests.support.postgres import PostgresCluster

                cluster = PostgresCluster().start()
                try:
                    run("PostgreSQL", cluster.create_database("request_cost"), args)
                finally:
                    cluster.stop()
            else:
                sys.exit(f"unknown database {name!r}: sqlite or postgresql")


if __name__ == "__main__":
    main()
