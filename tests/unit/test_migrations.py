"""The schema comes from migrations, from empty, on SQLite and PostgreSQL."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from portal import create_app
from portal.extensions import db
from portal.models.schema import include_object_for


def test_migrations_build_the_model_from_empty_and_take_it_down(databases, backend):
    url = databases.fresh_url(backend, "migrations_from_empty")
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "include_object": include_object_for(conn.dialect.name)})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "user_sessions", "account_settings", "secure_messages", "deliveries",
                "access_evidence", "audit_log_entries", "outbox_emails"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()  # and up again: a database can be rebuilt
        db.session.remove()
        db.engine.dispose()


def test_admin_search_columns_are_indexed(backend):
    inspector = inspect(db.engine)
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("secure_messages")}
    assert ("sent_at",) in indexed
    assert ("sender_id", "sent_at", "id") in indexed
    assert ("sent_at", "subject") in indexed
    delivery_indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("deliveries")}
    assert ("recipient_id", "message_id", "recipient_status", "id") in delivery_indexes


def test_entries_from_before_the_chain_are_chained_by_the_migration(databases, backend):
    from portal.audit.chain import verify_chain

    url = databases.fresh_url(backend, "chain_backfill")
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            for n in range(3):
                conn.execute(text(
                    "INSERT INTO audit_log_entries (category, type, actor_email, occurred_at, "
                    "details) VALUES ('Authentication Logs', 'Authentication - Signed In', "
                    f"'old{n}@example.com', :at, :details)"),
                    {"at": f"2026-01-0{n + 1} 10:00:00.000000" if backend == "sqlite"
                     else f"2026-01-0{n + 1} 10:00:00+00", "details": f'{{"n": {n}}}'})
        upgrade()
        report = verify_chain()
        assert report.ok and report.checked == 3
        db.session.remove()
        db.engine.dispose()
