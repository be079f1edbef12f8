"""Fixtures shared by every ring: the app on each database, clients, people, sign-in."""
import pytest

from portal import create_app
from portal.demo.data import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.web.throttling import limiter
from tests.support.databases import Databases, empty_all_tables, selected_backends
from tests.support.factories import csrf_token_from, user_by_email


def pytest_generate_tests(metafunc):
    # Unit and HTTP tests run once per database; the browser ring has its own server.
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", selected_backends(), scope="session")


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory)
    yield dbs
    dbs.close()


@pytest.fixture
def database_url(databases, backend):
    return databases.url(backend)


@pytest.fixture(scope="session")
def _built_apps():
    return {}


@pytest.fixture
def app(database_url, _built_apps):
    """The app, with no context pushed: each test-client request gets its own,
    as in production (a shared one would carry `g` and the session across requests).
    Tests that touch the database directly use `app.app_context()` or `ctx`.

    Built once per database (templates and queries compile once); each test
    gets empty tables and the configuration as it was."""
    app = _built_apps.get(database_url)
    if app is None:
        app = _built_apps[database_url] = create_app(
            "test", overrides={"SQLALCHEMY_DATABASE_URI": database_url})
    config = dict(app.config)
    yield app
    app.config.clear()
    app.config.update(config)
    empty_all_tables(app)
    limiter.reset()  # fresh throttling counters for the next test


@pytest.fixture
def ctx(app):
    """An application context for tests that call services or query directly."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def people(app):
    """The demo cast from DESIGN.md, without messages."""
    with app.app_context():
        load_demo_data(message_count=0)
        db.session.remove()

    class People:
        def __getitem__(self, email):
            return user_by_email(email)

    return People()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def csrf_token(self, path="/sign-in"):
        return csrf_token_from(self.client.get(path, follow_redirects=True).get_data(as_text=True))

    def sign_in(self, email, password=DEMO_PASSWORD, next_url=None, follow=False):
        data = {"email": email, "password": password, "csrf_token": self.csrf_token()}
        if next_url is not None:
            data["next"] = next_url
        return self.client.post("/sign-in", data=data, follow_redirects=follow)

    def sign_out(self):
        token = self.csrf_token("/")  # any signed-in page carries the token
        return self.client.post("/sign-out", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on loopback; the app's MAIL_* settings point at it."""
    from tests.support.smtp import SmtpSink

    sink = SmtpSink().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_USE_TLS=False,
                      MAIL_TIMEOUT_SECONDS=5)
    yield sink
    sink.stop()
