"""Two hosts, one service: the production walk-through of docs/production.md.

Two gunicorn instances on loopback (standing in for two hosts, two workers each)
behind one nginx (TRUSTED_PROXY_HOPS=1), sharing one PostgreSQL and one Redis for
the throttling counters (RATELIMIT_STORAGE_URI), with an outbox worker (`flask
outbox work`) for each host delivering to one SMTP server. Every process is
started as the walk-through starts it, from the environment.

What a second host must not change: a sign-in limit counts attempts on both hosts
together (not once per process); no email goes out twice with both workers
claiming; a recall through one host cuts off a reader on the other at once; a
session begun on one host works on the other. And PostgreSQL ending every
connection (a restart) costs no request.
"""
import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from portal import create_app
from portal.demo.data import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.models import (
    AccessEvidence,
    AuditLogEntry,
    Delivery,
    EvidenceKind,
    OutboxEmail,
    OutboxStatus,
    SecureMessage,
    User,
)
from tests.processes.clients import Browser
from tests.processes.proxy import Nginx, require
from tests.processes.servers import (
    ROOT,
    THROTTLING,
    TROUBLE,
    ServerProcess,
    app_settings,
    server_environment,
)
from tests.support.databases import migrate_to_head
from tests.support.redis import RedisServer
from tests.support.smtp import SmtpSink

WORKERS_PER_HOST = 2
LIMIT = 5  # sign-in attempts per account per minute, from addresses new to it
TOO_MANY = "Too many attempts. Wait a minute and try again."
MESSAGES = 12  # sent through the proxy, each to RECIPIENTS new addresses
RECIPIENTS = 5
SMTP_DELAY = 0.05  # seconds per email: one worker's pass outlasts the other's poll
DELIVERY_DEADLINE = 90
PANE = {"HX-Request": "true", "HX-Target": "reading-pane"}


class OutboxWorker:
    """`flask outbox work` as its own process, as on each host."""

    def __init__(self, env, log_path):
        self.env = env
        self.log_path = Path(log_path)
        self.process = None

    def start(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "outbox", "work"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # the worker stops between emails
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def trouble(self):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in text.splitlines() if TROUBLE.search(line)]


@dataclass
class Service:
    url: str  # the proxy: the service's one address
    hosts: list  # the two gunicorn instances
    workers: list
    proxy: Nginx
    redis: RedisServer
    smtp: SmtpSink
    app: object  # the test's own app on the same database: prepares and checks data
    database_url: str

    def trouble(self):
        found = [f"{host.name} {host.url}: {line}" for host in self.hosts
                 for line in host.trouble()]
        found += [f"outbox worker: {line}" for worker in self.workers for line in worker.trouble()]
        if self.proxy.process.poll() is not None:
            found.append(f"nginx stopped:\n{self.proxy.log()}")
        return found


@pytest.fixture(scope="module")
def service(databases, tmp_path_factory):
    require("nginx", "nginx")
    require("redis-server", "redis-server")
    tmp = tmp_path_factory.mktemp("two_hosts")
    url = databases.fresh_url("postgresql", f"two_hosts_{uuid.uuid4().hex[:8]}")
    settings = app_settings("production", url)
    migrate_to_head(url, SECRET_KEY=settings["SECRET_KEY"])
    app = create_app("production", overrides=settings)
    with app.app_context():
        load_demo_data(message_count=0)
        db.session.remove()
        db.engine.dispose()

    redis = RedisServer().start()
    smtp = SmtpSink()
    smtp.delay = SMTP_DELAY
    smtp.start()
    proxy = Nginx()
    # What the walk-through's .env says on every host: one proxy hop, the proxy's
    # address in links, the counters in Redis, two hosts.
    shared = {"TRUSTED_PROXY_HOPS": "1", "BASE_URL": proxy.url,
              "RATELIMIT_STORAGE_URI": redis.url, "PORTAL_HOSTS": "2",
              "SIGN_IN_LIMIT_PER_ACCOUNT": f"{LIMIT} per minute",
              "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_USE_TLS": ""}
    hosts, workers = [], []
    try:
        for name in ("a", "b"):
            host = ServerProcess.gunicorn(url, WORKERS_PER_HOST, tmp / f"host-{name}.log",
                                          **shared)
            host.name = f"host {name}"
            hosts.append(host.start())
            env = server_environment("production", url, 0, **shared)
            workers.append(OutboxWorker(env, tmp / f"outbox-{name}.log").start())
        proxy.start([host.url for host in hosts])
        yield Service(proxy.url, hosts, workers, proxy, redis, smtp, app, url)
    finally:
        proxy.stop()
        for process in workers + hosts:
            process.stop()
        smtp.stop()
        redis.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def signed_in(base, email):
    browser = Browser(base)
    browser.sign_in(email, DEMO_PASSWORD)
    return browser


def test_a_session_begun_on_one_host_works_on_the_other(service):
    a, b = service.hosts
    frank = signed_in(a.url, "frank@client.example")

    frank.base = b.url  # the same cookie, the other host
    reply = frank.get("/inbox")
    assert reply.status == 200
    assert "frank@client.example" in reply.text
    frank.take_csrf_token(reply)  # the token of the session begun on host a
    assert frank.post("/sign-out", {}).status == 302

    frank.base = a.url  # signed out on b: signed out on a too
    reply = frank.get("/inbox")
    assert reply.status == 302 and "/sign-in" in reply.location
    assert service.trouble() == []


def test_the_sign_in_limit_counts_attempts_on_both_hosts_together(service):
    a, b = service.hosts
    with service.app.app_context():
        failed_before = failed_sign_ins()
    # Wrong passwords for erin, in turn straight to host a, to host b and through the
    # proxy, each from an address new to her account. With per-process counters
    # each of the four workers would allow LIMIT.
    entries = [a.url, b.url, service.url] * 5
    statuses, texts = [], []
    for n, base in enumerate(entries):
        browser = Browser(base)
        at = {"X-Forwarded-For": f"203.0.113.{n + 1}"}  # the proxy appends its own hop
        browser.take_csrf_token(browser.get("/sign-in", headers=at))
        reply = browser.request("POST", "/sign-in", headers=at, form={
            "email": "erin@partner.example", "password": f"guess-{n}",
            "csrf_token": browser.csrf_token})
        statuses.append(reply.status)
        texts.append(reply.text)
    assert statuses == [401] * LIMIT + [429] * (len(entries) - LIMIT)
    assert all(TOO_MANY in text for text in texts[LIMIT:])
    with service.app.app_context():
        assert failed_sign_ins() - failed_before == LIMIT  # no more passwords were checked
        db.session.remove()
    assert int(service.redis.command("DBSIZE").lstrip(":")) > 0  # the counters live there
    assert service.trouble() == []


def failed_sign_ins():
    return db.session.scalar(select(func.count()).select_from(AuditLogEntry).where(
        AuditLogEntry.type == "Authentication - Sign In Failed"))


def test_no_email_is_sent_twice_with_an_outbox_worker_on_each_host(service):
    alice = signed_in(service.url, "alice@example.com")  # through the proxy
    expiry = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    addresses = []
    run = uuid.uuid4().hex[:6]
    message_ids = []
    for m in range(MESSAGES):
        to = [f"two-hosts-{run}-{m}-{r}@clients.example" for r in range(RECIPIENTS)]
        addresses += to
        reply = alice.post("/compose", {"to": ", ".join(to), "subject": f"Statement {m}",
                                        "body": "Hello,\nthe figures.", "expiry_date": expiry})
        assert reply.status == 302, reply.text[:500]
        message_ids.append(int(reply.location.rstrip("/").rsplit("/", 1)[1]))

    with service.app.app_context():
        emails, claimed_by = wait_until_delivered(message_ids)
        db.session.remove()
    assert len(emails) == MESSAGES * RECIPIENTS
    assert {e.status for e in emails} == {OutboxStatus.SENT}
    assert len(claimed_by) == 2, claimed_by  # both workers were seen holding emails

    received = [m for m in service.smtp.messages if m["To"] in set(addresses)]
    assert sorted(m["To"] for m in received) == sorted(addresses)  # each exactly once
    assert sorted(m["Message-ID"] for m in received) == sorted(e.message_id_header
                                                                for e in emails)
    assert service.trouble() == []


def wait_until_delivered(message_ids):
    """The messages' emails once all are sent, and the workers seen holding them
    meanwhile (a sent email no longer names its worker)."""
    deadline = time.monotonic() + DELIVERY_DEADLINE
    query = (select(OutboxEmail).join(Delivery, OutboxEmail.delivery_id == Delivery.id)
             .where(Delivery.message_id.in_(message_ids)))
    claimed_by = set()
    while True:
        emails = list(db.session.scalars(query))
        claimed_by |= {e.locked_by for e in emails if e.status is OutboxStatus.SENDING}
        if emails and all(e.status is OutboxStatus.SENT for e in emails):
            return emails, claimed_by
        assert time.monotonic() < deadline, sorted({str(e.status) for e in emails})
        db.session.rollback()
        time.sleep(0.1)


@pytest.mark.parametrize("sender,recall_on,read_on", [
    ("alice@example.com", 0, 1), ("dave@example.com", 1, 0)])
def test_a_recall_through_one_host_cuts_off_a_reader_on_the_other(service, sender, recall_on,
                                                                   read_on):
    recaller = signed_in(service.hosts[recall_on].url, sender)
    bob = signed_in(service.hosts[read_on].url, "bob@partner.example")
    body = f"TWO-HOSTS-{uuid.uuid4().hex}"
    expiry = (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    reply = recaller.post("/compose", {"to": "bob@partner.example", "subject": "Contract",
                                       "body": body, "expiry_date": expiry})
    assert reply.status == 302, reply.text[:500]
    message_id = int(reply.location.rstrip("/").rsplit("/", 1)[1])
    with service.app.app_context():
        bob_id = db.session.scalar(select(User.id).where(User.email == "bob@partner.example"))
        delivery_id = db.session.scalar(select(Delivery.id).where(
            Delivery.message_id == message_id, Delivery.recipient_id == bob_id))
        db.session.remove()

    reply = bob.get(f"/inbox/{delivery_id}", headers=PANE)
    assert reply.status == 200 and body in reply.text

    recalled = recaller.post(f"/sent/{message_id}/recall", {"reason": "Sent in error"})
    assert recalled.status == 302
    reply = bob.get(f"/inbox/{delivery_id}", headers=PANE)  # the next view, the other host
    assert reply.status == 200
    assert body not in reply.text and "Recalled by" in reply.text

    with service.app.app_context():
        recalled_at = db.session.get(SecureMessage, message_id).recalled_at
        evidence = db.session.execute(
            select(AccessEvidence.kind, AccessEvidence.occurred_at)
            .where(AccessEvidence.delivery_id == delivery_id,
                   AccessEvidence.kind.in_([EvidenceKind.MESSAGE_VIEWED,
                                            EvidenceKind.ACCESS_REFUSED]))
            .order_by(AccessEvidence.id)).all()
        db.session.remove()
    assert recalled_at is not None
    assert [kind for kind, _ in evidence] == [EvidenceKind.MESSAGE_VIEWED,
                                              EvidenceKind.ACCESS_REFUSED]
    assert evidence[0].occurred_at <= recalled_at <= evidence[1].occurred_at
    assert service.trouble() == []


def test_postgresql_ending_every_connection_costs_no_request(service):
    """As a PostgreSQL restart does to every host's pooled connections at once."""
    bob = signed_in(service.url, "bob@partner.example")
    for _ in range(8):  # every worker of both hosts has a pooled connection
        assert bob.get("/inbox").status == 200
    parts = make_url(service.database_url)
    with psycopg.connect(host=parts.host, port=parts.port, user=parts.username,
                         dbname=parts.database, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()").fetchone()[0]
    assert ended >= 2 * WORKERS_PER_HOST  # the hosts' workers and the outbox workers

    statuses = [bob.get("/inbox").status for _ in range(20)]
    assert statuses == [200] * 20
    assert service.trouble() == []


def test_several_workers_with_per_process_counters_are_refused(tmp_path):
    """gunicorn with two workers and memory:// does not start, and says why."""
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    server = ServerProcess.gunicorn(url, 2, tmp_path / "refused.log",
                                    RATELIMIT_STORAGE_URI="memory://", **THROTTLING)
    with pytest.raises(RuntimeError, match="gunicorn exited") as refused:
        server.start()
    assert "RATELIMIT_STORAGE_URI is memory://" in str(refused.value)
    assert "runs in 2 processes" in str(refused.value)
