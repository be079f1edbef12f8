"""Throughput: the portal served by gunicorn on loopback, loaded with wrk, beside the
hand-written floor and a bare Flask endpoint.

    make throughput                                   # PostgreSQL, then SQLite
    .venv/bin/python benchmarks/throughput.py --databases postgresql --duration 20

The three servers run the repo's gunicorn.conf.py (sync workers, 2 × cores + 1)
with the production configuration, on one database, the portal's throttling
counters in a throwaway Redis (production refuses per-process counters with
several workers). For each screen it prints
wrk's requests per second and latency for the portal and for the floor
(benchmarks/floor: the same page written by hand on plain SQL, the reference the
portal is measured against), each as a share of the bare endpoint's rate
(benchmarks/bare_app.py), and the portal's rate as a share of the floor's. The
bare endpoint is measured before and after the screens; the shares use the mean
of the two.

Screens (each as a signed-in person, with a session cookie from the real sign-in
form, which the floor reads too): the sign-in page (signed out: no query, the
portal only), the Inbox page, the reading-pane fragment (htmx request), the
message viewer from a notification link, Sent, the admin Secure Messaging search
(last 48 hours, with results) and Message Details (htmx fragment). The viewer and
the reading pane record access evidence on every request, as in use.

Needs wrk and redis-server (Debian packages; `make throughput` installs them when root).
"""
import argparse
import base64
import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.factories import csrf_token_from  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

BIN = Path(sys.executable).parent

RECIPIENT = "bob@partner.example"
SENDER = "alice@example.com"
ADMIN = "basic.admin@example.com"


def production_env(database_url):
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        "PORTAL_CONFIG": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "MESSAGE_KEYS": f"bench:{key}",
        "MESSAGE_KEY_ID": "bench",
        # wrk comes from one address: lift the per-address link-opening limit.
        "LINK_OPEN_LIMIT": "1000000 per minute",
        "SIGN_IN_LIMIT_PER_IP": "1000 per minute",
        "GUNICORN_LOG_LEVEL": "warning",
    }


def prepare(env):
    """Migrate, load the demo data and send the recipient a message to read and one
    read once: (the first's link token and delivery id, the second's message id)."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo.data import load_demo_data
    from portal.extensions import db
    from portal.messaging.reading import record_link_opened, record_view
    from portal.models import ViewChannel
    from portal.settings import current_settings
    from tests.support.factories import TEST_REQUEST, send, user_by_email

    # Settings as overrides: config.py read the environment when it was first imported.
    app = create_app("production", overrides={
        "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "SECRET_KEY": env["SECRET_KEY"],
        "MESSAGE_KEYS": env["MESSAGE_KEYS"], "MESSAGE_KEY_ID": env["MESSAGE_KEY_ID"]})
    with app.app_context():
        upgrade()
        load_demo_data()
        message, tokens = send(user_by_email("alice@example.com"), [RECIPIENT],
                               subject="Throughput benchmark",
                               body="Hello,\nthe figures for the benchmark.\n\nKind regards")
        delivery_id = next(d.id for d in message.deliveries if d.recipient.email == RECIPIENT)
        token = tokens[delivery_id]
        # Message Details of a message read once, as most are (the pane and the viewer
        # add evidence to the first at every request: thousands of rows by then).
        details, _ = send(user_by_email("alice@example.com"),
                          [RECIPIENT, "erin@partner.example"], cc=["dave@example.com"],
                          subject="Throughput benchmark: details", body="Hello")
        read = details.deliveries[0]
        record_link_opened(read, signed_in=False, request_info=TEST_REQUEST)
        record_view(read.recipient, read, ViewChannel.DIRECT_LINK,
                    read_status_mode=current_settings().read_status_mode,
                    request_info=TEST_REQUEST)
        message_id = details.id
        db.session.remove()
        db.engine.dispose()
    return token, delivery_id, message_id


class Server:
    """gunicorn with the repo's gunicorn.conf.py, on a free loopback port."""

    def __init__(self, app_spec, env, log_path):
        self.port = free_port()
        self.log = open(log_path, "w")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), app_spec],
            cwd=ROOT, env={**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_until_serving()

    def wait_until_serving(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped; see {self.log.name}")
            try:
                status, _, _ = self.request("GET", "/")
                if status < 500:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start; see {self.log.name}")

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read().decode("utf-8", "replace")
        cookies = [v.split(";", 1)[0] for k, v in response.getheaders()
                   if k.lower() == "set-cookie"]
        conn.close()
        return response.status, data, cookies

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


def sign_in(server, email, password):
    """A session cookie from the real sign-in form (CSRF token and all)."""
    status, page, cookies = server.request("GET", "/sign-in")
    form = urlencode({"email": email, "password": password,
                      "csrf_token": csrf_token_from(page)})
    status, _, new_cookies = server.request(
        "POST", "/sign-in", body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": "; ".join(cookies)})
    if status != 302 or not new_cookies:
        raise RuntimeError(f"signing in as {email} failed ({status})")
    return "; ".join(new_cookies)


WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_PERCENTILE = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, headers, duration, connections, threads):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], check=True, capture_output=True, text=True).stdout
    rate = float(WRK_RATE.search(output).group(1))
    latency = {p: float(v) * UNIT_MS[u] for p, v, u in WRK_PERCENTILE.findall(output)}
    errors = [m.group(0) for m in WRK_ERRORS.finditer(output)]
    return {"rate": rate, "p50": latency.get("50"), "p99": latency.get("99"), "errors": errors}


def check(server, path, headers, expect):
    status, body, _ = server.request("GET", path, headers=headers)
    if status != 200 or expect not in body:
        raise RuntimeError(f"{path} answered {status} without {expect!r}: not what we measure")


def run(label, database_url, args, workdir, redis_url):
    from portal.demo.data import DEMO_PASSWORD

    env = production_env(database_url)
    token, delivery_id, message_id = prepare(env)
    workers = str(args.workers)
    env["WEB_CONCURRENCY"] = workers
    # Several workers: production wants its throttling counters in one shared store.
    env["RATELIMIT_STORAGE_URI"] = redis_url
    bare = Server("benchmarks.bare_app:app", env, workdir / f"bare-{label}.log")
    portal = Server("wsgi:app", env, workdir / f"portal-{label}.log")
    floor = Server("benchmarks.floor.wsgi:app", env, workdir / f"floor-{label}.log")
    try:
        recipient = {"Cookie": sign_in(portal, RECIPIENT, DEMO_PASSWORD)}
        sender = {"Cookie": sign_in(portal, SENDER, DEMO_PASSWORD)}
        admin = {"Cookie": sign_in(portal, ADMIN, DEMO_PASSWORD)}
        pane = {**recipient, "HX-Request": "true", "HX-Target": "reading-pane"}
        details = {**admin, "HX-Request": "true", "HX-Target": "details-panel"}
        # (name, path, headers, text the page must show, whether the floor has it)
        screens = [
            ("Sign-in page (no query)", "/sign-in", {}, "Sign in", False),
            ("Inbox page", "/inbox", recipient, "Throughput benchmark", True),
            ("Reading pane (fragment)", f"/inbox/{delivery_id}", pane, "the figures", True),
            ("Message viewer (link)", f"/m/{token}", recipient, "the figures", True),
            ("Sent", "/sent", sender, "Throughput benchmark", True),
            ("Admin search (48 h)", "/admin/secure-messaging", admin, "Throughput benchmark",
             True),
            ("Message Details (fragment)", f"/admin/secure-messaging/messages/{message_id}",
             details, RECIPIENT, True),
        ]
        for _, path, headers, expect, in_floor in screens:
            for server in (portal, floor) if in_floor else (portal,):
                check(server, path, headers, expect)

        def measure(server, path, headers):
            wrk(server.url(path), headers, 2, args.connections, args.threads)  # warm-up
            return wrk(server.url(path), headers, args.duration, args.connections, args.threads)

        before = measure(bare, "/", {})
        results = []
        for name, path, headers, _, in_floor in screens:
            results.append((name, measure(portal, path, headers),
                            measure(floor, path, headers) if in_floor else None))
        after = measure(bare, "/", {})
    finally:
        floor.stop()
        portal.stop()
        bare.stop()

    baseline = (before["rate"] + after["rate"]) / 2
    print(f"\n{label}: gunicorn, {workers} sync workers, wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s")
    print(f"bare Flask: {before['rate']:.0f} req/s before, {after['rate']:.0f} after "
          f"(p50 {before['p50']:.2f} / {after['p50']:.2f} ms)\n")
    print("| screen | portal req/s | p50 ms | p99 ms | share of bare | floor req/s "
          "| floor p50 ms | floor share of bare | portal ÷ floor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, result, floor_result in results:
        share = result["rate"] / baseline
        line = (f"| {name} | {result['rate']:.0f} | {result['p50']:.2f} | {result['p99']:.2f} "
                f"| {share:.0%} ")
        if floor_result:
            floor_share = floor_result["rate"] / baseline
            versus = result["rate"] / floor_result["rate"] if floor_result["rate"] else 0
            line += (f"| {floor_result['rate']:.0f} | {floor_result['p50'] or 0:.2f} "
                     f"| {floor_share:.0%} | {versus:.0%} |")
        else:
            line += "| | | | |"
        print(line)
        for which, measured in (("portal", result), ("floor", floor_result)):
            for error in (measured or {}).get("errors", []):
                print(f"    wrk ({which}, {name}): {error}")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (make throughput does, as root)")
    print(f"{os.cpu_count()} cores; wrk, the servers and their databases share them.")
    from tests.support.redis import RedisServer, redis_available

    if not redis_available():
        sys.exit("redis-server is not installed: apt-get install redis-server "
                 "(make throughput does, as root)")
    redis = RedisServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="portal-throughput-") as tmp:
            workdir = Path(tmp)
            for name in args.databases.split(","):
                if name == "sqlite":
                    run("SQLite", f"sqlite:///{workdir / 'portal.sqlite3'}", args, workdir,
                        redis.url)
                elif name == "postgresql":
                    from tests.support.postgres import PostgresCluster

                    cluster = PostgresCluster().start()
                    try:
                        run("PostgreSQL", cluster.create_database("throughput"), args, workdir,
                            redis.url)
                    finally:
                        cluster.stop()
                else:
                    sys.exit(f"unknown database {name!r}: postgresql or sqlite")
    finally:
        redis.stop()

if __name__ == "__main__":
    main()
