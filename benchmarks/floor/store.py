"""The floor's database access: one DB-API connection per thread, plain SQL, counted.

stdlib sqlite3 on SQLite, psycopg on PostgreSQL, both opened on the URL the
portal is given. Queries are written with `:name` parameters (sqlite3's own
style; turned into psycopg's `%(name)s` once per statement). Rows come back as
sqlite3.Row or dicts: both answer `row["column"]`, and Jinja's `row.column`.
Every statement and every commit is counted, for benchmarks/request_cost.py.
"""
import re
import sqlite3
import threading
from datetime import UTC, datetime

# As the portal's engine: a writer waits for the lock rather than failing, and on
# PostgreSQL every execution is planned for its own values. The SQLite journal
# mode is the database file's own (the portal sets it); the floor leaves it alone.
SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRES_OPTIONS = "-c plan_cache_mode=force_custom_plan"
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Store:
    def __init__(self, url):
        if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            self.dialect = "sqlite"
            self._target = url[len("sqlite:///"):]
        elif url.startswith(("postgresql://", "postgresql+psycopg://")):
            self.dialect = "postgresql"
            self._target = "postgresql://" + url.split("://", 1)[1]
        else:
            raise ValueError("the floor runs on a SQLite file or PostgreSQL (psycopg)")
        self._local = threading.local()
        self._statements = {}
        self.statements = 0
        self.commits = 0

    # -- connections ----------------------------------------------------------------

    def connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _connect(self):
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self._target, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            return conn
        import psycopg
        from psycopg.rows import dict_row

        return psycopg.connect(self._target, row_factory=dict_row, options=POSTGRES_OPTIONS)

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- statements -----------------------------------------------------------------

    def _sql(self, sql):
        text = self._statements.get(sql)
        if text is None:
            text = sql if self.dialect == "sqlite" else _NAMED.sub(r"%(\1)s", sql)
            self._statements[sql] = text
        return text

    def execute(self, sql, params=None):
        self.statements += 1
        return self.connection().execute(self._sql(sql), params or {})

    def all(self, sql, **params):
        return self.execute(sql, params).fetchall()

    def one(self, sql, **params):
        return self.execute(sql, params).fetchone()

    def scalar(self, sql, **params):
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0] if self.dialect == "sqlite" else next(iter(row.values()))

    def commit(self):
        self.commits += 1
        self.connection().commit()

    def end_request(self):
        """Roll back whatever a read left open (as the portal's pool does on return)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        if self.dialect == "sqlite":
            if conn.in_transaction:
                conn.rollback()
        elif conn.info.transaction_status != 0:  # psycopg: 0 is IDLE
            conn.rollback()

    # -- values ---------------------------------------------------------------------

    def at(self, moment):
        """A UTC time as a parameter: naive text on SQLite, as SQLAlchemy stores it there."""
        if self.dialect == "sqlite":
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return moment

    @staticmethod
    def when(value):
        """A time from a row, timezone-aware UTC."""
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def in_list(self, name, values):
        """`(:name0, :name1, ...)` and its parameters, for an IN over a short id list."""
        keys = [f"{name}{i}" for i in range(len(values))]
        return "(" + ", ".join(f":{k}" for k in keys) + ")", dict(zip(keys, values, strict=True))
