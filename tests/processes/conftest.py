"""The processes ring: the real servers as OS processes, clients as OS processes.

Once per database, as the other rings: gunicorn with several workers on
PostgreSQL with their throttling counters in Redis (as in production), and the
dev server on a SQLite file (as `make run`). Under CI=true a missing pg_ctl or
redis-server fails, as everywhere else.
"""
import os
import uuid
from dataclasses import dataclass

import pytest

from portal import create_app
from portal.extensions import db
from tests.processes.proxy import require
from tests.processes.race import prepare_messages
from tests.processes.servers import ServerProcess, app_settings
from tests.support.databases import migrate_to_head
from tests.support.redis import RedisServer

# PORTAL_RACE_WORKERS: gunicorn's worker processes (its WEB_CONCURRENCY); default 4.
WORKERS = int(os.environ.get("PORTAL_RACE_WORKERS", "4"))


@dataclass
class RacePortal:
    backend: str
    app: object  # the test's own app on the same database: prepares and checks data
    server: ServerProcess
    messages: list


@pytest.fixture
def redis_server():
    """A Redis of the test's own (no counters left from another test), no persistence."""
    require("redis-server", "redis-server")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def race_portal(backend, databases, tmp_path, request):
    if backend == "postgresql":
        url = databases.fresh_url("postgresql", f"processes_{uuid.uuid4().hex[:8]}")
        config_name = "production"
    else:
        url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
        config_name = "development"
    settings = app_settings(config_name, url)
    migrate_to_head(url, SECRET_KEY=settings["SECRET_KEY"])  # the servers' audit key
    app = create_app(config_name, overrides=settings)
    messages = prepare_messages(app, backend)
    with app.app_context():
        db.engine.dispose()  # the servers have the database to themselves
    log = tmp_path / "server.log"
    if backend == "postgresql":  # several workers: one store for their counters
        redis = request.getfixturevalue("redis_server")
        server = ServerProcess.gunicorn(url, WORKERS, log, RATELIMIT_STORAGE_URI=redis.url)
    else:
        server = ServerProcess.dev_server(url, log)
    server.start()
    try:
        yield RacePortal(backend, app, server, messages)
    finally:
        server.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
