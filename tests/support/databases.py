"""One migrated database per backend per test session, emptied after each test."""
import os

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from portal import create_app
from portal.audit.chain import genesis_head
from portal.extensions import db
from portal.models import AuditChainHead

from .postgres import PostgresCluster, postgres_available

BACKENDS = ("sqlite", "postgresql")


def selected_backends():
    """All backends; PORTAL_TEST_DATABASES=sqlite narrows a local run (never in CI)."""
    wanted = os.environ.get("PORTAL_TEST_DATABASES")
    if not wanted or os.environ.get("CI") == "true":
        return BACKENDS
    return tuple(b for b in BACKENDS if b in wanted.split(","))


def running_in_ci():
    return os.environ.get("CI") == "true"


def require_postgres():
    if not postgres_available():
        message = "PostgreSQL's pg_ctl is not installed, so the PostgreSQL ring cannot run"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)


def migrate_to_head(url, **overrides):
    """`overrides`: the settings of the processes that will use the database (the
    migration seals the audit chain head with their audit key)."""
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url, **overrides})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def empty_all_tables(app):
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
            # The audit chain starts again, as after the migration: an empty, sealed head.
            conn.execute(AuditChainHead.__table__.insert().values(**genesis_head()))
        db.engine.dispose()


class Databases:
    """Lazily starts what each backend needs, once per session."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.urls = {}
        self.cluster = None

    def url(self, backend):
        if backend not in self.urls:
            if backend == "sqlite":
                path = self.tmp_path_factory.mktemp("sqlite") / "portal.sqlite3"
                url = f"sqlite:///{path}"
            else:
                require_postgres()
                self.cluster = PostgresCluster().start()
                url = self.cluster.create_database("portal_test")
            migrate_to_head(url)
            self.urls[backend] = url
        return self.urls[backend]

    def fresh_url(self, backend, name):
        """An empty, unmigrated database (for migration tests)."""
        if backend == "sqlite":
            return f"sqlite:///{self.tmp_path_factory.mktemp(name) / 'empty.sqlite3'}"
        self.url("postgresql")
        return self.cluster.create_database(name)

    def close(self):
        if self.cluster is not None:
            self.cluster.stop()
