"""The browser ring: Debian's Chromium driven by Playwright against a live portal."""
import os
from pathlib import Path

import pytest

from portal import create_app
from portal.demo.data import load_demo_data
from portal.extensions import db
from portal.web.htmx import HTMX_URL
from tests.support.databases import migrate_to_head, running_in_ci, selected_backends
from tests.support.htmx_copy import local_htmx
from tests.support.live_server import LiveServer

CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package (make test does, as root)"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def htmx_file():
    return local_htmx()


def start_portal(tmp_path_factory, message_count=0, url=None, now=None, **overrides):
    """A migrated portal (SQLite unless `url` names another database) with the demo
    accounts (and `message_count` demo messages, made as of `now`), served on loopback."""
    url = url or f"sqlite:///{tmp_path_factory.mktemp('browser') / 'portal.sqlite3'}"
    migrate_to_head(url)
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url, **overrides})
    with app.app_context():
        load_demo_data(now=now, message_count=message_count)
        db.session.remove()
    server = LiveServer(app).start()
    app.config["BASE_URL"] = server.url  # links in emails point at this server
    return server


def pytest_generate_tests(metafunc):
    # A journey runs on SQLite, as `make run` serves it; where the database's own
    # behaviour is the point (locks, evidence under a recall), the module is marked
    # `both_databases` and runs on PostgreSQL too.
    if "browser_backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases")
        backends = selected_backends() if both else ("sqlite",)
        metafunc.parametrize("browser_backend", backends, scope="session")


@pytest.fixture(scope="session")
def live_server(browser_backend, tmp_path_factory, databases):
    """The portal as `make run` serves it (demo data, Dev mailbox, no SMTP)."""
    url = databases.fresh_url("postgresql", "browser") if browser_backend == "postgresql" else None
    server = start_portal(tmp_path_factory, message_count=40, url=url, DEV_MAILBOX=True)
    yield server
    server.stop()


@pytest.fixture
def mail_portal(tmp_path_factory):
    """A portal that delivers its outbox over SMTP to a real server on loopback,
    with the outbox worker running in a background thread as in `make run`."""
    from portal.notifications.delivery import start_worker_thread
    from tests.support.smtp import SmtpSink

    sink = SmtpSink().start()
    server = start_portal(tmp_path_factory, MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port,
                          MAIL_TIMEOUT_SECONDS=5, OUTBOX_POLL_SECONDS=0.2)
    thread, stop = start_worker_thread(server.app)
    yield server, sink
    stop.set()
    thread.join(10)
    server.stop()
    sink.stop()


def serve_htmx_from(path):
    def handler(route):
        route.fulfill(path=str(path), content_type="application/javascript",
                      headers={"Access-Control-Allow-Origin": "*"})
    return handler


@pytest.fixture
def context(context, htmx_file):
    """Every page gets the pinned htmx from the local copy instead of the CDN."""
    context.route(HTMX_URL, serve_htmx_from(htmx_file))
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def new_person(browser, htmx_file):
    """Another person at another browser: a fresh context, no shared cookies."""
    contexts = []

    def make():
        ctx = browser.new_context()
        ctx.route(HTMX_URL, serve_htmx_from(htmx_file))
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def demo_portal_as_of(tmp_path_factory):
    """Makes a fresh SQLite portal holding only the demo data, made as of the given
    time: the same messages, dates and statuses on every run, whatever ran before."""
    servers = []

    def make(now):
        server = start_portal(tmp_path_factory, message_count=40, now=now, DEV_MAILBOX=True)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
