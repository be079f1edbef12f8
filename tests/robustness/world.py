"""The portal the fuzzer plays against: a small cast with messages, one signed-in
session per audience, and a snapshot of the database to go back to after every case.

Built once per database per test session. Every case starts from exactly the
snapshot: a case's writes (accepted or not) are undone before the next one, so
one case can neither hide a bug from the next (a sign-out, a demoted admin, a
recalled message) nor lean on what an earlier case left behind.
"""
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, text

from portal.demo.data import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.identity.sign_in import sign_in
from portal.messaging.reading import record_view
from portal.messaging.recall import RecallRefused, admin_recall, recall_messages
from portal.messaging.responding import respond
from portal.models import (
    AuditLogEntry,
    Delivery,
    OutboxEmail,
    ReadStatusMode,
    RecallSource,
    User,
    ViewChannel,
    utcnow,
)
from portal.settings import current_settings
from tests.robustness.hostile import canary
from tests.support.databases import empty_all_tables
from tests.support.factories import TEST_REQUEST, account_mode, csrf_token_from, send, user_by_email

# Who a case is sent as. None: nobody signed in.
AUDIENCE_EMAILS = {
    "no_cookie": None,        # a client with no cookie at all (a scanner, a script)
    "signed_out": None,       # a browser that has been to the sign-in page
    "recipient": "bob@partner.example",
    "sender": "alice@example.com",
    "read_only_admin": "readonly.admin@example.com",
    "basic_admin": "basic.admin@example.com",
    "full_admin": "full.admin@example.com",
}
AUDIENCES = tuple(AUDIENCE_EMAILS)

# Time zones far from UTC in both directions, so day ranges and expiry dates are
# turned into UTC where the edges of the calendar are nearest.
TIME_ZONES = {
    "alice@example.com": "Pacific/Honolulu",
    "bob@partner.example": "Asia/Kathmandu",
    "full.admin@example.com": "Pacific/Kiritimati",
    "basic.admin@example.com": "America/St_Johns",
    "readonly.admin@example.com": "Pacific/Pago_Pago",
}

# Stored values a page may show later: hostile, each with a canary (hostile.CANARY), so
# a page that prints one raw is caught whatever the case in front of it asked.
SEEDED = {
    "subject": f"Seed \"><script>alert('{canary(90001)}')</script> subject",
    "body": f"Seed body </textarea><img src=x onerror=alert('{canary(90002)}')> end",
    "reply": f"Seed reply <svg onload=alert(\"{canary(90003)}\")> end",
    "recall_reason": f"Seed reason '><b onmouseover='{canary(90004)}'>",
    "admin_recall_reason": f"<iframe src=\"javascript:alert('{canary(90005)}')\">",
    "failed_email": f"\"><script>alert('{canary(90006)}')</script>@example.com",
}

SESSION_COOKIE = "session"


@dataclass(repr=False)
class Pools:
    """Real ids and tokens of the world, for cases that name them (their own and others')."""
    delivery_ids: list
    own_delivery_ids: dict          # audience -> its deliveries
    message_ids: list
    own_message_ids: dict           # audience -> messages it sent
    user_ids: list
    audit_entry_ids: list
    outbox_email_ids: list
    link_tokens: list               # every delivery's notification-link token
    own_link_tokens: dict           # audience -> its deliveries' tokens
    unregistered_link_tokens: list  # tokens of carol, who has not registered


@dataclass(repr=False)
class World:
    app: object
    engine: object
    backend: str
    cookies: dict                   # audience -> session cookie value (or None)
    csrf_tokens: dict               # audience -> a CSRF token valid for its session
    pools: Pools
    snapshot: dict = field(default_factory=dict)     # table -> list of row dicts
    baseline: dict = field(default_factory=dict)     # table -> fingerprint rows

    # Hypothesis prints a strategy's arguments when it reports a failure: keep it short.
    def __repr__(self):
        return f"<world on {self.backend}>"

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))

    # -- the database, as the checks see it ------------------------------------------------

    def read_tables(self, names=None):
        """Every row of the domain tables (all columns, as the models type them), by id."""
        tables = [t for t in db.metadata.sorted_tables if names is None or t.name in names]
        with self.engine.connect() as conn:
            return {t.name: [dict(row._mapping) for row in conn.execute(
                select(t).order_by(*t.primary_key.columns))] for t in tables}

    def fingerprint(self, names=None):
        """The domain tables as the driver returns them (cheaper than typed rows), by id."""
        tables = [t.name for t in db.metadata.sorted_tables if names is None or t.name in names]
        with self.engine.connect() as conn:
            return {name: fingerprint_rows(name, conn.exec_driver_sql(
                f"SELECT * FROM {name} ORDER BY id")) for name in tables}

    def restore(self, tables):
        """Put these tables (and every table whose rows point into them) back as in the snapshot."""
        affected = _with_dependants(tables)
        ordered = [t for t in db.metadata.sorted_tables if t.name in affected]
        with self.engine.begin() as conn:
            for table in reversed(ordered):
                conn.execute(table.delete())
            for table in ordered:
                rows = self.snapshot[table.name]
                if rows:
                    conn.execute(table.insert(), rows)
        if self.baseline:
            again = self.fingerprint(affected)
            assert all(again[name] == self.baseline[name] for name in affected), \
                "the snapshot did not come back"

    def restore_everything(self):
        self.restore({t.name for t in db.metadata.sorted_tables})
        if self.engine.dialect.name == "postgresql":
            # Another test may have restarted the sequences; new rows must not
            # collide with the snapshot's ids.
            with self.engine.begin() as conn:
                for table in db.metadata.sorted_tables:
                    conn.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false) "
                        f"WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"))

    def set_account_settings(self, edition, read_status_mode):
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE account_settings SET edition = :e, read_status_mode = :m"),
                         {"e": edition, "m": read_status_mode})


# Columns a request may change without that being a write of domain data:
IGNORED_COLUMNS = {
    # Session bookkeeping: every signed-in request may move it (once a minute at most).
    "user_sessions": {"last_seen_at"},
}


def fingerprint_rows(table, result):
    ignored = IGNORED_COLUMNS.get(table, ())
    return [tuple((k, v) for k, v in row._mapping.items() if k not in ignored) for row in result]


def _with_dependants(names):
    names = set(names)
    grew = True
    while grew:
        grew = False
        for table in db.metadata.sorted_tables:
            if table.name not in names and any(fk.column.table.name in names
                                               for fk in table.foreign_keys):
                names.add(table.name)
                grew = True
    return names


def build_world(app, backend):
    """Empty the database, fill it, sign every audience in, and take the snapshot."""
    empty_all_tables(app)
    with app.app_context():
        engine = db.engine
        pools = _fill_database()
        db.session.remove()
    cookies, csrf_tokens = _open_sessions(app)
    world = World(app=app, engine=engine, backend=backend, cookies=cookies,
                  csrf_tokens=csrf_tokens, pools=pools)
    with app.app_context():
        pools.audit_entry_ids = list(db.session.scalars(select(AuditLogEntry.id)))
        db.session.remove()
    world.snapshot = world.read_tables()
    # Written back once, so the baseline holds the rows exactly as a restore writes them
    # (JSON text, for one, is spaced differently when a service writes it in bulk).
    world.restore_everything()
    world.baseline = world.fingerprint()
    check_the_world(world)
    return world


def check_the_world(world):
    """Every audience is who it should be, and the audit chain still verifies."""
    homes = {"no_cookie": "/sign-in", "signed_out": "/sign-in", "recipient": "/inbox",
             "sender": "/sent", "read_only_admin": "/admin/secure-messaging",
             "basic_admin": "/admin/secure-messaging", "full_admin": "/admin/secure-messaging"}
    for audience, home in homes.items():
        client = world.app.test_client()
        if world.cookies[audience]:
            client.set_cookie(SESSION_COOKIE, world.cookies[audience])
        location = client.get("/").headers["Location"]
        assert location.startswith(home), (audience, location)
    client = world.app.test_client()
    client.set_cookie(SESSION_COOKIE, world.cookies["full_admin"])
    chain = client.get("/account/audit-logs/chain").get_data(as_text=True)
    assert "chain-ok" in chain, chain


def _fill_database():
    now = utcnow()
    load_demo_data(message_count=0)
    people = {email: user_by_email(email) for email in
              ("alice@example.com", "dave@example.com", "bob@partner.example",
               "erin@partner.example", "frank@client.example", "carol@partner.example",
               "full.admin@example.com", "basic.admin@example.com",
               "readonly.admin@example.com")}
    for email, zone in TIME_ZONES.items():
        people[email].time_zone = zone
    db.session.commit()
    alice, dave, bob = people["alice@example.com"], people["dave@example.com"], \
        people["bob@partner.example"]
    everything = dict(allow_reply=True, allow_reply_all=True, allow_forward=True,
                      allow_print=True, read_receipt=True)

    tokens = {}

    def sent(*args, **kwargs):
        message, message_tokens = send(*args, **kwargs)
        tokens.update(message_tokens)
        return message

    seeded = sent(alice, ["bob@partner.example", "erin@partner.example"],
                  cc=["frank@client.example"], subject=SEEDED["subject"], body=SEEDED["body"],
                  **everything)
    plain = sent(alice, ["bob@partner.example"], subject="No permissions at all")
    sent(dave, ["alice@example.com", "carol@partner.example"], subject="For Alice and Carol",
         allow_reply=True, allow_forward=True)
    sent(dave, ["erin@partner.example", "frank@client.example"], subject="Not for our cast",
         allow_reply=True)
    recalled = sent(alice, ["bob@partner.example"], subject="Recalled one", allow_reply=True)
    recall_messages(alice, [recalled.id], source=RecallSource.SENDER,
                    reason=SEEDED["recall_reason"], request_info=TEST_REQUEST)
    sent(dave, ["bob@partner.example", "alice@example.com"], subject="Expired one",
         now=now - timedelta(days=10), expires_in=timedelta(days=2), allow_reply=True)
    sent(alice, ["bob@partner.example", "carol@partner.example"], subject="Never expires",
         expires_in=None, allow_forward=True, allow_reply=True)
    admin_recalled = sent(dave, ["erin@partner.example"], subject="Recalled by an admin")
    admin_recall(people["basic.admin@example.com"], [admin_recalled.id],
                 reason=SEEDED["admin_recall_reason"], edition=current_settings().edition,
                 request_info=TEST_REQUEST)
    with contextlib.suppress(RecallRefused):
        admin_recall(people["readonly.admin@example.com"], [seeded.id, 10**6],
                     edition=current_settings().edition, request_info=TEST_REQUEST)

    bob_seeded = next(d for d in seeded.deliveries if d.recipient_id == bob.id)
    # (the reply's link token is not kept: respond() hands it only to the notification)
    respond(bob, bob_seeded, "reply", text=SEEDED["reply"], settings=current_settings(),
            request_info=TEST_REQUEST)
    # A read-status discrepancy: a direct-link view while only Inbox selection counts.
    settings = current_settings()
    settings.read_status_mode = ReadStatusMode.INBOX_SELECTION
    db.session.commit()
    bob_plain = next(d for d in plain.deliveries if d.recipient_id == bob.id)
    record_view(bob, bob_plain, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    settings = current_settings()
    settings.read_status_mode = ReadStatusMode.CONTENT_VIEWED
    db.session.commit()
    sign_in(SEEDED["failed_email"], "wrong password", TEST_REQUEST)  # audited, with the email

    deliveries = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    users = db.session.scalars(select(User).order_by(User.id)).all()
    by_email = {u.email: u for u in users}

    def own_deliveries(audience):
        email = AUDIENCE_EMAILS[audience]
        return [d.id for d in deliveries if email and d.recipient_id == by_email[email].id]

    pools = Pools(
        delivery_ids=[d.id for d in deliveries],
        own_delivery_ids={a: own_deliveries(a) for a in AUDIENCES},
        message_ids=sorted({d.message_id for d in deliveries}),
        own_message_ids={a: sorted({d.message_id for d in deliveries
                                    if AUDIENCE_EMAILS[a]
                                    and d.message.sender_id == by_email[AUDIENCE_EMAILS[a]].id})
                         for a in AUDIENCES},
        user_ids=[u.id for u in users],
        audit_entry_ids=[],
        outbox_email_ids=list(db.session.scalars(select(OutboxEmail.id))),
        link_tokens=[tokens[d.id] for d in deliveries if d.id in tokens],
        own_link_tokens={a: [tokens[i] for i in own_deliveries(a) if i in tokens]
                         for a in AUDIENCES},
        unregistered_link_tokens=[tokens[d.id] for d in deliveries
                                  if d.id in tokens and not d.recipient.is_registered],
    )
    return pools


def _open_sessions(app):
    """Sign each audience in through the portal itself; keep its cookie and a CSRF token."""
    cookies, csrf_tokens = {}, {}
    for audience, email in AUDIENCE_EMAILS.items():
        if audience == "no_cookie":
            cookies[audience] = csrf_tokens[audience] = None
            continue
        client = app.test_client()
        page = client.get("/sign-in")
        if email is not None:
            response = client.post("/sign-in", data={
                "email": email, "password": DEMO_PASSWORD,
                "csrf_token": csrf_token_from(page.get_data(as_text=True))})
            assert response.status_code == 302, (audience, response.status_code)
            page = client.get("/password")
            assert page.status_code == 200, (audience, page.status_code)
        csrf_tokens[audience] = csrf_token_from(page.get_data(as_text=True))
        cookies[audience] = client.get_cookie(SESSION_COOKIE).value
    return cookies, csrf_tokens
