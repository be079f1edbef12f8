"""How each database's connections are set up, for every request to cost no more than
its own statements: no extra round trip, no fsync a commit need not wait for."""
import select

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

# A writer waits this long for SQLite's write lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 5000
# A PostgreSQL connection is replaced after this long, before a firewall or a
# server-side idle timeout can drop it silently.
POSTGRESQL_POOL_RECYCLE_SECONDS = 1800


def tune(engine):
    if engine.dialect.name == "sqlite":
        if engine.url.database not in (None, "", ":memory:"):
            event.listen(engine, "connect", _sqlite_pragmas)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "checkout", _refuse_a_connection_the_server_has_closed)


def _sqlite_pragmas(dbapi_connection, _record):
    """Write-ahead log, so readers never wait for a writer and a commit appends to the
    log instead of syncing the database file twice; synchronous=NORMAL, so a commit
    no longer waits for an fsync (the log is synced at each checkpoint: a power cut
    can lose the last commits, never corrupt the file; docs/production.md); and a
    writer waits for the write lock instead of failing at once.

    In WAL mode a transaction that has read and then writes after another's commit
    fails at once (SQLITE_BUSY_SNAPSHOT, no waiting), but none here does: pysqlite
    begins a transaction only at its first INSERT, UPDATE or DELETE (the reads
    before it run on their own), so every write transaction takes the lock with its
    first statement and waits for it; where order matters that statement is
    lock_rows (models/sql.py). No savepoints.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _refuse_a_connection_the_server_has_closed(dbapi_connection, _record, _proxy):
    """SQLAlchemy's pool_pre_ping sends a query per checkout: a round trip on every
    request. A server that ends a connection (pg_terminate_backend, a restart, an
    idle timeout) says so on its socket: an error message, then end of file. An idle
    pooled connection otherwise has nothing to read (no LISTEN here), so a readable
    socket at checkout means the connection is gone: the pool drops it and checks out
    another (or opens one), and the request never sees it. Costs one poll(), about a
    microsecond. A connection cut without a word (a cable) is found on first use, as
    with pre-ping (which would wait for it too): that request fails, and the error
    invalidates the pool's older connections, so the next request starts afresh.
    """
    if dbapi_connection.closed:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server sent something to an idle connection: "
                                 "it has closed it")
