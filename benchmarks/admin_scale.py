"""Admin console at scale: searches, Message Details and bulk recall on a big database.

    make benchmark                      # 1,000,000 messages, SQLite and PostgreSQL
    .venv/bin/python benchmarks/admin_scale.py --messages 100000 --databases sqlite

Builds a database of N messages (3 deliveries and 3 evidence rows each) spread
over the last 365 days (the data build is shared with reader_scale.py, which
measures the readers' screens on it), then prints, for each search, the median and p95 of
the server time (a signed-in administrator's request through the whole app)
beside the same page fetched with raw SQL, and their ratio. Then bulk recall
of 1,000 / 10,000 / 100,000 messages, each in one transaction.

PostgreSQL runs in a throwaway cluster on loopback (the installed pg_ctl).
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.core.request_info import RequestInfo  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.identity.passwords import hash_password  # noqa: E402
from portal.messaging.recall import recall_messages  # noqa: E402
from portal.models import RecallSource, User, utcnow  # noqa: E402
from portal.models.body_encryption import key_ring  # noqa: E402
from tests.support.factories import csrf_token_from  # noqa: E402

SENDERS = 20
RECIPIENTS = 100_000
ADMIN_ID = SENDERS + 1
FIRST_RECIPIENT = SENDERS + 2
# Two people whose lists reader_scale.py measures: a recipient with 1,000 messages
# in the Inbox and a sender with 10,000 sent (whatever the number of messages).
READER_ID = FIRST_RECIPIENT + RECIPIENTS
READER_EMAIL = "reader@client.example"
READER_MESSAGES = 1_000
HEAVY_SENDER_ID = READER_ID + 1
HEAVY_SENDER_EMAIL = "heavy.sender@example.com"
HEAVY_SENDER_MESSAGES = 10_000
PASSWORD = "portal-demo-password"
DAYS = 365
PHRASES = ["Quarterly statement", "Signed contract", "Payroll changes", "Medical report",
           "Bank details update", "Board pack", "Tender response", "Passport copy",
           "Invoice and remittance", "Data room credentials", "Settlement offer",
           "Audit findings", "Pension transfer", "Background check", "Merger terms",
           "Tax return", "Loan agreement", "Insurance claim", "Lease renewal", "Court filing"]


def phrase_sql(dialect):
    cases = " ".join(f"WHEN {i} THEN '{p}'" for i, p in enumerate(PHRASES))
    return f"CASE (n % {len(PHRASES)}) {cases} END"


def body_plaintexts():
    """A few dozen bodies of 200 to 2,000 characters, as people write them."""
    sentence = ("Please find the {} attached; confirm the figures before Friday so that "
                "the board pack can go out on time. ")
    texts = []
    for i in range(48):
        length = 200 + (i * 397) % 1800
        paragraph = "".join(sentence.format(PHRASES[(i + j) % len(PHRASES)].lower())
                            for j in range(length // 80 + 1))
        texts.append(f"Dear client,\n\n{paragraph[:length]}\n\nKind regards")
    return texts


def load_bodies(conn, dialect, count, encrypt):
    """Each message's body sealed through the portal's body encryption (its own nonce),
    into a temporary table `bench_bodies (n, body)` that the message INSERT reads."""
    texts = body_plaintexts()
    conn.execute(text("CREATE TEMPORARY TABLE bench_bodies (n INTEGER PRIMARY KEY, "
                      "body TEXT NOT NULL)"))
    if dialect == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()
        with cursor.copy("COPY bench_bodies (n, body) FROM STDIN") as copy:
            for n in range(1, count + 1):
                copy.write_row((n, encrypt(texts[n % len(texts)])[1]))
        cursor.close()
    else:
        batch = 50_000
        for first in range(1, count + 1, batch):
            conn.exec_driver_sql(
                "INSERT INTO bench_bodies (n, body) VALUES (?, ?)",
                [(n, encrypt(texts[n % len(texts)])[1])
                 for n in range(first, min(first + batch, count + 1))])


def generate(conn, dialect, count, now, encrypt=None):
    """Fill the tables inside the database engine.

    Without `encrypt` no row crosses into Python and bodies are placeholders
    (no admin screen reads a body); with it (the portal's `key_ring().encrypt`)
    every message gets a real sealed body, loaded in bulk (COPY on PostgreSQL).
    """
    start = now - timedelta(days=DAYS)
    span = DAYS * 86400
    conn.execute(text("INSERT INTO account_settings (id, edition, read_status_mode, time_zone, "
                      "internal_domains, default_expiry_days, allow_no_expiry, "
                      "default_allow_reply, default_allow_reply_all, default_allow_forward, "
                      "default_allow_print, default_read_receipt, updated_at) VALUES "
                      "(1, 'Full', 'content_viewed', 'UTC', 'example.com', 30, true, true, "
                      "false, false, true, false, :now)"), {"now": now})
    pw = hash_password(PASSWORD)
    if dialect == "sqlite":
        seq = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {})"
        ts = ("strftime('%Y-%m-%d %H:%M:%S', {epoch} + ({expr}), 'unixepoch') || '.000000'")
        epoch = int(start.timestamp())

        def at(expr):
            return ts.format(epoch=epoch, expr=expr)
        true, false = "1", "0"
    else:
        seq = "WITH seq(n) AS (SELECT generate_series(1, {}))"

        def at(expr):
            return f"(TIMESTAMPTZ '{start.isoformat()}' + (({expr}) * INTERVAL '1 second'))"
        true, false = "true", "false"

    conn.execute(text(
        f"{seq.format(SENDERS)} INSERT INTO users (id, email, is_internal, time_zone, created_at,"
        f" password_hash) SELECT n, 'sender' || n || '@example.com', {true}, 'UTC', {at('0')},"
        " :pw FROM seq"), {"pw": pw})
    conn.execute(text(
        f"INSERT INTO users (id, email, is_internal, admin_role, time_zone, created_at, "
        f"password_hash) VALUES ({ADMIN_ID}, 'bench.admin@example.com', {true}, 'full', "
        f"'UTC', {at('0')}, :pw)"), {"pw": pw})
    conn.execute(text(
        f"{seq.format(RECIPIENTS)} INSERT INTO users (id, email, is_internal, time_zone, "
        f"created_at) SELECT {FIRST_RECIPIENT} + n - 1, 'user' || n || '@client' || (n % 500) "
        f"|| '.example', {false}, 'UTC', {at('0')} FROM seq"))
    conn.execute(text(
        "INSERT INTO users (id, email, is_internal, time_zone, created_at, registered_at, "
        f"password_hash) VALUES ({READER_ID}, '{READER_EMAIL}', {false}, 'UTC', {at('0')}, "
        f"{at('0')}, :pw), ({HEAVY_SENDER_ID}, '{HEAVY_SENDER_EMAIL}', {true}, 'UTC', "
        f"{at('0')}, NULL, :pw)"), {"pw": pw})
    # A signed-out session per recipient, so that the session check looks a token up
    # among 100,000 as in use (not in an all but empty table).
    conn.execute(text(
        f"{seq.format(RECIPIENTS)} INSERT INTO user_sessions (id, user_id, token_hash, "
        f"created_at, last_seen_at, ended_at, end_reason) SELECT n, {FIRST_RECIPIENT} + n - 1,"
        f" 'session-' || n, {at('n')}, {at('n + 600')}, {at('n + 600')}, 'signed_out' FROM seq"))
    # Every `stride`-th message is the heavy sender's / has the reader as first recipient;
    # the offsets keep both off the recalled (n % 50 = 0) and expiring (n % 5 < 2) ones.
    sender_stride = max(count // HEAVY_SENDER_MESSAGES, 1)
    reader_stride = max(count // READER_MESSAGES, 1)
    body = "'not-a-real-ciphertext'"
    key_id = "benchmark"
    if encrypt is not None:
        load_bodies(conn, dialect, count, encrypt)
        body = "(SELECT b.body FROM bench_bodies b WHERE b.n = seq.n)"
        key_id = encrypt("")[0]
    # Messages evenly over the year, newest last; 2% recalled, 40% with a 7-day expiry.
    sent = f"(n * {span}.0 / {count})"
    conn.execute(text(
        f"{seq.format(count)} INSERT INTO secure_messages (id, sender_id, subject, body,"
        " body_key_id, sent_at,"
        " expires_at, allow_reply, allow_reply_all, allow_forward, allow_print, read_receipt,"
        " recalled_at, recalled_by_id, recall_reason, recall_source) SELECT n,"
        f" CASE WHEN n % {sender_stride} = {53 % sender_stride} THEN {HEAVY_SENDER_ID}"
        f" ELSE 1 + (n % {SENDERS}) END, {phrase_sql(dialect)} || ' #' || n, {body},"
        f" '{key_id}',"
        f" {at(f'CAST({sent} AS INTEGER)')},"
        f" CASE WHEN n % 5 < 2 THEN {at(f'CAST({sent} AS INTEGER) + 604800')} END,"
        f" {true}, {false}, {false}, {true}, {false},"
        f" CASE WHEN n % 50 = 0 THEN {at(f'CAST({sent} AS INTEGER) + 3600')} END,"
        f" CASE WHEN n % 50 = 0 THEN 1 + (n % {SENDERS}) END,"
        " CASE WHEN n % 50 = 0 THEN 'Benchmark' END,"
        " CASE WHEN n % 50 = 0 THEN 'sender' END FROM seq"))
    conn.execute(text(
        f"{seq.format(count * 3)} INSERT INTO deliveries (id, message_id, recipient_id, kind, "
        "position, recipient_status, link_token_hash) SELECT n, (n + 2) / 3, "
        f"CASE WHEN (n + 2) % 3 = 0 AND ((n + 2) / 3) % {reader_stride} = {3 % reader_stride}"
        f" THEN {READER_ID}"
        f" ELSE {FIRST_RECIPIENT} + ((((n + 2) / 3) * 7 + (n % 3) * 13) % {RECIPIENTS}) END, "
        "CASE WHEN n % 3 = 0 THEN 'cc' ELSE 'to' END, (n + 2) % 3, "
        "CASE WHEN n % 4 = 0 THEN 'Read' ELSE 'Sent' END, 'h' || n FROM seq"))
    conn.execute(text(
        f"{seq.format(count * 3)} INSERT INTO access_evidence (id, delivery_id, kind, occurred_at,"
        f" signed_in, suspected_scanner, details) SELECT n, n, 'notification_sent',"
        f" {at(f'CAST((((n + 2) / 3) * {span}.0 / {count}) AS INTEGER)')}, {false}, {false},"
        " '{}' FROM seq"))
    if encrypt is not None:
        conn.execute(text("DROP TABLE bench_bodies"))
    if dialect == "postgresql":
        for table in ("users", "user_sessions", "secure_messages", "deliveries",
                      "access_evidence"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
    conn.execute(text("ANALYZE"))


def timed(fn, repeat):
    fn()  # warm caches, as a running server has them
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]


def raw_search(conn, where, params, limit=25):
    """The same page with hand-written SQL: count, page rows, their To summaries."""
    total = conn.execute(text(f"SELECT count(*) FROM secure_messages m WHERE {where}"),
                         params).scalar()
    rows = conn.execute(text(
        "SELECT m.id, s.email, m.subject, m.sent_at, m.expires_at, m.recalled_at "
        f"FROM secure_messages m JOIN users s ON s.id = m.sender_id WHERE {where} "
        f"ORDER BY m.sent_at DESC, m.id DESC LIMIT {limit}"), params).all()
    ids = [r.id for r in rows]
    if ids:
        conn.execute(text("SELECT d.message_id, u.email FROM deliveries d JOIN users u "
                          "ON u.id = d.recipient_id WHERE d.message_id IN "
                          f"({', '.join(str(i) for i in ids)}) ORDER BY d.message_id, d.position"))
    return total, len(rows)


def build(url, label, count, encrypted_bodies=False):
    """The app on a new database of `count` messages; returns (app, now)."""
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
    logging.getLogger("portal.requests").setLevel(logging.WARNING)  # a line per request
    now = utcnow()
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            generate(conn, db.engine.dialect.name, count, now,
                     encrypt=key_ring().encrypt if encrypted_bodies else None)
        bodies = "real encrypted bodies" if encrypted_bodies else "placeholder bodies"
        print(f"\n## {label}: {count:,} messages ({bodies}), {count * 3:,} deliveries, "
              f"{count * 3:,} evidence rows (built in {time.perf_counter() - started:.0f} s)")
        db.session.remove()
    return app, now


def signed_in_client(app, email):
    client = app.test_client()
    token = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD,
                                             "csrf_token": token})
    assert response.status_code == 302, (email, response.status_code)
    return client


def each_database(names, tmp):
    """(label, database URL) for each name; PostgreSQL in a throwaway cluster."""
    for name in names:
        if name == "sqlite":
            yield "SQLite", f"sqlite:///{tmp}/bench-{name}.sqlite3"
        elif name == "postgresql":
            from tests.support.postgres import PostgresCluster, postgres_available

            if not postgres_available():
                print("\n## PostgreSQL: skipped, pg_ctl is not installed")
                continue
            cluster = PostgresCluster().start()
            try:
                yield "PostgreSQL", cluster.create_database("bench")
            finally:
                cluster.stop()


def run(url, label, count, repeat, recall_sizes):
    app, now = build(url, label, count)
    client = signed_in_client(app, "bench.admin@example.com")

    cutoff48 = now - timedelta(hours=48)
    cutoff30 = now - timedelta(days=30)
    like = "ILIKE" if "postgresql" in url else "LIKE"  # as portal.models.sql.contains_text

    def recipients_like(conn, text_):
        ids = conn.execute(text(f"SELECT id FROM users WHERE email {like} :p"),
                           {"p": f"%{text_}%"}).scalars().all()
        return ", ".join(str(i) for i in ids) or "NULL"

    cases = [
        ("Default search (last 48 hours)", "/admin/secure-messaging",
         lambda conn: "m.sent_at >= :since", {"since": cutoff48}),
        ("Subject search over 30 days", "/admin/secure-messaging?subject=statement&range=30d",
         lambda conn: f"m.sent_at >= :since AND m.subject {like} '%statement%'",
         {"since": cutoff30}),
        ("To search (last 48 hours)", "/admin/secure-messaging?to=user4242%40",
         lambda conn: "m.sent_at >= :since AND m.id IN (SELECT message_id FROM deliveries "
                      f"WHERE recipient_id IN ({recipients_like(conn, 'user4242@')}))",
         {"since": cutoff48}),
    ]
    print("\n| measure | server median ms | server p95 ms | raw SQL median ms | raw SQL p95 ms "
          "| p95 ratio |\n|---|---|---|---|---|---|")
    with app.app_context():
        conn = db.engine.connect()
        for name, path, where, params in cases:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            server = timed(lambda path=path: client.get(path), repeat)
            raw = timed(lambda where=where, params=params: raw_search(conn, where(conn), params),
                        repeat)
            print(f"| {name} | {server[0]:.1f} | {server[1]:.1f} | {raw[0]:.1f} | {raw[1]:.1f} "
                  f"| {server[1] / raw[1]:.1f}× |")
        detail_id = count - 3
        path = f"/admin/secure-messaging/messages/{detail_id}"
        assert client.get(path).status_code == 200

        def raw_details():
            conn.execute(text("SELECT m.*, s.email FROM secure_messages m JOIN users s ON "
                              "s.id = m.sender_id WHERE m.id = :id"), {"id": detail_id}).all()
            conn.execute(text("SELECT d.*, u.email FROM deliveries d JOIN users u ON "
                              "u.id = d.recipient_id WHERE d.message_id = :id"),
                         {"id": detail_id}).all()
            conn.execute(text("SELECT e.* FROM access_evidence e JOIN deliveries d ON "
                              "d.id = e.delivery_id WHERE d.message_id = :id"),
                         {"id": detail_id}).all()
        server = timed(lambda: client.get(path), repeat)
        raw = timed(raw_details, repeat)
        print(f"| Open Message Details | {server[0]:.1f} | {server[1]:.1f} | {raw[0]:.1f} | "
              f"{raw[1]:.1f} | {server[1] / raw[1]:.1f}× |")
        conn.close()

        print("\n| bulk recall (one transaction) | messages recalled | seconds |\n|---|---|---|")
        admin = db.session.get(User, ADMIN_ID)
        # Newest messages with no expiry and not yet recalled, disjoint per size.
        candidates = db.session.execute(text(
            "SELECT id FROM secure_messages WHERE recalled_at IS NULL AND expires_at IS NULL "
            "ORDER BY id DESC LIMIT :n"), {"n": sum(recall_sizes)}).scalars().all()
        offset = 0
        for size in recall_sizes:
            ids = candidates[offset:offset + size]
            offset += size
            started = time.perf_counter()
            outcome = recall_messages(admin, ids, source=RecallSource.ADMIN, reason="benchmark",
                                      request_info=RequestInfo(ip="127.0.0.1"))
            elapsed = time.perf_counter() - started
            print(f"| {size:,} | {len(outcome.recalled):,} | {elapsed:.2f} |")
        db.session.remove()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--recall-sizes", default="1000,10000,100000")
    args = parser.parse_args()
    recall_sizes = [int(s) for s in args.recall_sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        for label, url in each_database(args.databases.split(","), tmp):
            run(url, label, args.messages, args.repeat, recall_sizes)


if __name__ == "__main__":
    os.environ.setdefault("PORTAL_CONFIG", "test")
    main()
