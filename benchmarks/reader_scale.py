"""Readers at a million messages: Inbox, reading pane and Sent on a big database.

    make benchmark-readers              # 1,000,000 messages, SQLite and PostgreSQL
    .venv/bin/python benchmarks/reader_scale.py --messages 100000 --databases sqlite

Builds the admin benchmark's database (admin_scale.py: N messages, 3 deliveries
and 3 evidence rows each, over the last 365 days) with every body sealed
through the portal's body encryption, a recipient with 1,000 messages and a
sender with 10,000 sent. Then, for each of their screens (Inbox page 1, the
reading pane as htmx asks for it, which records a view each time, and Sent
page 1), the median and p95 of a signed-in request through the whole app beside
the same page's queries in raw SQL; and every SELECT the portal ran for that
screen under EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on
SQLite: the index each one uses, its rows and its time. PostgreSQL runs with
its default planner settings.
"""
import argparse
import os
import re
import statistics
import tempfile
import time

from admin_scale import (
    HEAVY_SENDER_EMAIL,
    HEAVY_SENDER_ID,
    READER_EMAIL,
    READER_ID,
    build,
    each_database,
    signed_in_client,
    timed,
)
from sqlalchemy import event, text

from portal.extensions import db
from portal.models.body_encryption import key_ring

PER_PAGE = 25
PANE_HEADERS = {"HX-Request": "true", "HX-Target": "reading-pane"}


def captured_statements(app, fn):
    """The SELECTs the portal sends to the database while `fn` runs."""
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            fn()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
    return seen


def label_of(statement):
    """`count` or `rows`, and the tables in the order the statement names them."""
    flat = " ".join(statement.split())
    tables = []
    for name in re.findall(r"(?:FROM|JOIN)\s+(\w+)", flat):
        if name not in tables and name != "anon_1":
            tables.append(name)
    kind = "count" if re.match(r"SELECT count\(", flat, re.I) else "rows"
    lock = " FOR UPDATE" if "FOR UPDATE" in flat else ""
    return f"{kind} · {' + '.join(tables)}{lock}"


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def explain_postgresql(raw, statement, parameters):
    cursor = raw.cursor()
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
    plan = cursor.fetchone()[0][0]
    raw.rollback()
    access = []
    for node in _plan_nodes(plan["Plan"]):
        if "Index Name" in node:
            step = f"{node['Node Type']} using {node['Index Name']}"
        elif node["Node Type"] == "Seq Scan":
            step = f"**Seq Scan on {node['Relation Name']}**"
        else:
            continue
        if step not in access:
            access.append(step)
    top = plan["Plan"]
    buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return (", ".join(access) or "no table read", top["Actual Rows"],
            plan["Execution Time"], f"{buffers:,} buffers")


def explain_sqlite(raw, statement, parameters):
    cursor = raw.cursor()
    steps = [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
    times = []
    for _ in range(11):
        started = time.perf_counter()
        rows = cursor.execute(statement, parameters).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    raw.rollback()
    return "; ".join(steps), len(rows), statistics.median(times), ""


def print_plans(app, screens):
    """One line per SELECT that each screen ran: what it reads, rows, time."""
    print("\n| screen | query | plan (index used) | rows | ms | buffers |\n|---|---|---|---|---|---|")
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            with db.engine.connect() as conn:
                changed = conn.execute(text(
                    "SELECT name || '=' || setting FROM pg_settings WHERE source <> 'default' "
                    "AND (category LIKE 'Query Tuning%' OR name = 'plan_cache_mode')")).scalars()
                changed = ", ".join(changed) or "none"
        explain = explain_postgresql if dialect == "postgresql" else explain_sqlite
        raw = db.engine.raw_connection()
        try:
            for screen, fn in screens:
                for statement, parameters in captured_statements(app, fn):
                    plan, rows, ms, buffers = explain(raw.driver_connection, statement,
                                                      parameters)
                    print(f"| {screen} | {label_of(statement)} | {plan} | {rows:,} | "
                          f"{ms:.2f} | {buffers} |")
        finally:
            raw.close()
    if dialect == "postgresql":
        print(f"\nPlanner settings not at their defaults: {changed}")


def raw_inbox(conn, now):
    conn.execute(text("SELECT count(*) FROM deliveries WHERE recipient_id = :r"),
                 {"r": READER_ID}).scalar()
    # The recipient's deliveries and their dates first, then the page's rows (as the portal).
    rows = conn.execute(text(
        "WITH dated AS MATERIALIZED (SELECT d2.id, m2.sent_at FROM deliveries d2 "
        "JOIN secure_messages m2 ON m2.id = d2.message_id WHERE d2.recipient_id = :r) "
        "SELECT d.id, d.recipient_status, s.email, m.subject, m.sent_at, m.expires_at, "
        "m.recalled_at FROM deliveries d JOIN secure_messages m ON m.id = d.message_id "
        "JOIN users s ON s.id = m.sender_id WHERE d.id IN (SELECT id FROM dated "
        f"ORDER BY sent_at DESC, id DESC LIMIT {PER_PAGE}) "
        "ORDER BY m.sent_at DESC, d.id DESC"), {"r": READER_ID}).all()
    raw_unread(conn, now)
    return rows


def raw_unread(conn, now):
    return conn.execute(text(
        "SELECT count(*) FROM deliveries d JOIN secure_messages m ON m.id = d.message_id "
        "WHERE d.recipient_id = :r AND d.recipient_status = 'Sent' AND m.recalled_at IS NULL "
        "AND (m.expires_at IS NULL OR m.expires_at > :now)"),
        {"r": READER_ID, "now": now}).scalar()


def raw_pane(conn, delivery_id, now, postgresql):
    """The delivery and its message, the row lock a view takes, the evidence, the count."""
    row = conn.execute(text(
        "SELECT d.id, d.message_id, d.recipient_status, m.subject, m.body, m.body_key_id, "
        "m.sent_at, m.expires_at, m.recalled_at, m.allow_print, s.email FROM deliveries d "
        "JOIN secure_messages m ON m.id = d.message_id JOIN users s ON s.id = m.sender_id "
        "WHERE d.id = :d AND d.recipient_id = :r"), {"d": delivery_id, "r": READER_ID}).one()
    if postgresql:
        conn.execute(text("SELECT id FROM secure_messages WHERE id = :m FOR UPDATE"),
                      {"m": row.message_id})
    conn.execute(text(
        "INSERT INTO access_evidence (delivery_id, user_id, kind, occurred_at, channel, "
        "signed_in, ip, suspected_scanner, details) VALUES (:d, :r, 'message_viewed', :now, "
        "'inbox', true, '127.0.0.1', false, '{}')"),
        {"d": delivery_id, "r": READER_ID, "now": now})
    conn.commit()
    key_ring().decrypt(row.body_key_id, row.body)
    raw_unread(conn, now)
    conn.rollback()


def raw_sent(conn):
    conn.execute(text("SELECT count(*) FROM secure_messages WHERE sender_id = :s"),
                 {"s": HEAVY_SENDER_ID}).scalar()
    ids = conn.execute(text(
        "SELECT id, subject, sent_at, expires_at, recalled_at FROM secure_messages "
        f"WHERE sender_id = :s ORDER BY sent_at DESC, id DESC LIMIT {PER_PAGE}"),
        {"s": HEAVY_SENDER_ID}).scalars().all()
    conn.execute(text(
        "SELECT d.message_id, u.email FROM deliveries d JOIN users u ON u.id = d.recipient_id "
        f"WHERE d.message_id IN ({', '.join(str(i) for i in ids)}) "
        "ORDER BY d.message_id, d.position")).all()


def settle(app):
    """PostgreSQL: what autovacuum does to a table loaded in bulk, done now, so that
    the figures do not depend on when it happens to run (visibility map, statistics)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            started = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            print(f"VACUUM ANALYZE after the bulk load: {time.perf_counter() - started:.0f} s")


def run(url, label, count, repeat):
    app, now = build(url, label, count, encrypted_bodies=True)
    settle(app)
    measure(app, now, repeat)


def measure(app, now, repeat):
    reader = signed_in_client(app, READER_EMAIL)
    sender = signed_in_client(app, HEAVY_SENDER_EMAIL)
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        inbox_size, sent_size = (
            db.session.execute(text(
                "SELECT (SELECT count(*) FROM deliveries WHERE recipient_id = :r), "
                "(SELECT count(*) FROM secure_messages WHERE sender_id = :s)"),
                {"r": READER_ID, "s": HEAVY_SENDER_ID}).one())
        # The pane opens the reader's newest message that is still open (its body shown).
        pane_id = db.session.execute(text(
            "SELECT d.id FROM deliveries d JOIN secure_messages m ON m.id = d.message_id "
            "WHERE d.recipient_id = :r AND m.recalled_at IS NULL AND (m.expires_at IS NULL "
            "OR m.expires_at > :now) ORDER BY m.sent_at DESC LIMIT 1"),
            {"r": READER_ID, "now": now}).scalar()
        db.session.remove()
    print(f"{READER_EMAIL}: {inbox_size:,} messages in the Inbox; {HEAVY_SENDER_EMAIL}: "
          f"{sent_size:,} sent")

    pane_path = f"/inbox/{pane_id}"
    checks = [("Inbox page 1", reader, "/inbox", {}, f"inbox-row-{pane_id}"),
              ("Reading pane (htmx)", reader, pane_path, PANE_HEADERS, "message-body"),
              ("Sent page 1", sender, "/sent", {}, "Page 1 of")]
    for name, client, path, headers, expected in checks:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (name, response.status_code)
        assert expected in response.get_data(as_text=True), (name, expected)

    print("\n| screen | server median ms | server p95 ms | raw SQL median ms | raw SQL p95 ms "
          "| p95 ratio |\n|---|---|---|---|---|---|")
    with app.app_context():
        conn = db.engine.connect()
        raws = {"Inbox page 1": lambda: (raw_inbox(conn, now), conn.rollback()),
                "Reading pane (htmx)": lambda: raw_pane(conn, pane_id, now, postgresql),
                "Sent page 1": lambda: (raw_sent(conn), conn.rollback())}
        for name, client, path, headers, _expected in checks:
            server = timed(lambda client=client, path=path, headers=headers:
                           client.get(path, headers=headers), repeat)
            raw = timed(raws[name], repeat)
            print(f"| {name} | {server[0]:.1f} | {server[1]:.1f} | {raw[0]:.1f} | "
                  f"{raw[1]:.1f} | {server[1] / raw[1]:.1f}× |")
        conn.close()
        db.session.remove()

    print_plans(app, [(name, lambda client=client, path=path, headers=headers:
                       client.get(path, headers=headers))
                      for name, client, path, headers, _expected in checks])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(f"Readers at scale, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        for label, url in each_database(args.databases.split(","), tmp):
            run(url, label, args.messages, args.repeat)


if __name__ == "__main__":
    os.environ.setdefault("PORTAL_CONFIG", "test")
    main()
