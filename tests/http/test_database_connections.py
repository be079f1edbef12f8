"""PostgreSQL ends the portal's pooled connections (pg_terminate_backend, as a restart
or an idle timeout does): no request fails, without a pre-ping round trip per request."""
import uuid

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.demo.data import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from tests.support.databases import migrate_to_head
from tests.support.factories import csrf_token_from

POOLED = 3


def terminate_every_other_connection(url):
    """Ends every session on the portal's database but this one; returns how many."""
    parts = make_url(url)
    with psycopg.connect(host=parts.host, port=parts.port, user=parts.username,
                         dbname=parts.database, autocommit=True) as admin:
        pids = [row[0] for row in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits for its end
    return len(pids)


def test_connections_postgresql_ends_cost_no_request(databases):
    url = databases.fresh_url("postgresql", f"connections_{uuid.uuid4().hex[:8]}")
    migrate_to_head(url)
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
    assert "pool_pre_ping" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    client = app.test_client()
    try:
        with app.app_context():
            load_demo_data(message_count=0)
            db.session.remove()
        page = client.get("/sign-in").get_data(as_text=True)
        reply = client.post("/sign-in", data={"email": "bob@partner.example",
                                              "password": DEMO_PASSWORD,
                                              "csrf_token": csrf_token_from(page)})
        assert reply.status_code == 302
        with app.app_context():
            # Several connections in the pool, as a busy worker's would be.
            held = [db.engine.connect() for _ in range(POOLED)]
            before = {c.execute(text("SELECT pg_backend_pid()")).scalar() for c in held}
            for connection in held:
                connection.close()
            assert db.engine.pool.checkedin() == POOLED

        assert terminate_every_other_connection(url) >= POOLED

        for _ in range(POOLED + 2):  # more than the pool held: every dead one met
            reply = client.get("/inbox")
            assert reply.status_code == 200
            assert "Inbox" in reply.get_data(as_text=True)
        with app.app_context(), db.engine.connect() as connection:
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar() not in before
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
