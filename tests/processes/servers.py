"""The portal's real servers as OS processes on loopback.

gunicorn as in production (gunicorn.conf.py, wsgi.py, PORTAL_CONFIG=production,
every setting from the environment; no TLS; test_two_hosts.py puts nginx in front), the
development server as `make run` starts it (`flask serve`, the outbox worker in
a thread). Each writes its stdout and stderr to one log file the test reads.
"""
import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "processes-suite-secret-key-not-for-production"
MESSAGE_KEY_ID = "race1"
MESSAGE_KEYS = f"{MESSAGE_KEY_ID}:" + base64.b64encode(
    hashlib.sha256(b"processes suite message key").digest()).decode()
# Every client signs in and opens links from 127.0.0.1, many times a second. The
# limits are settings, so the suite loosens them the way an operator would.
LOOSE_LIMIT = "100000 per minute"
THROTTLING = {name: LOOSE_LIMIT for name in (
    "SIGN_IN_LIMIT_PER_ACCOUNT", "SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP", "SIGN_IN_LIMIT_PER_IP",
    "CHANGE_PASSWORD_LIMIT_PER_ACCOUNT", "CHANGE_PASSWORD_LIMIT_PER_IP", "REGISTER_LIMIT",
    "LINK_OPEN_LIMIT")}

# What must never appear in a server's log.
TROUBLE = re.compile(r"Traceback|database is locked|deadlock|OperationalError|"
                     r"\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Worker failed", re.IGNORECASE)


def app_settings(config_name, database_url):
    """The settings every process of one run shares: the servers get them from the
    environment, the test's own app (which prepares and checks the data) as overrides."""
    settings = {"SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": database_url}
    if config_name == "production":
        settings.update(MESSAGE_KEYS=MESSAGE_KEYS, MESSAGE_KEY_ID=MESSAGE_KEY_ID)
    return settings


def server_environment(config_name, database_url, port, **extra):
    env = dict(os.environ)
    env.update({
        "PORTAL_CONFIG": config_name, "FLASK_APP": "portal", "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY, "BASE_URL": f"http://127.0.0.1:{port}",
        # Set, even if empty, so that a developer's .env cannot change them.
        "MAIL_SERVER": "", "AUDIT_HMAC_KEY": "", "TRUSTED_PROXY_HOPS": "0",
        "RATELIMIT_STORAGE_URI": "memory://", "SECURE_MESSAGING_EDITION": "Full",
        "READ_STATUS_MODE": "content_viewed", **THROTTLING,
    })
    if config_name == "production":
        env.update(MESSAGE_KEYS=MESSAGE_KEYS, MESSAGE_KEY_ID=MESSAGE_KEY_ID)
    env.update(extra)
    return env


def wait_until_answering(server, timeout, pause):
    """Poll `server.url`/sign-in until it answers 200; a process that exits or never
    answers stops the server and raises with its log."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n"
                               f"{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.url}/sign-in", timeout=5) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{server.name} did not answer in {timeout} s:\n{server.log()}")
        time.sleep(pause)


class ServerProcess:
    def __init__(self, name, command, env, port, log_path):
        self.name = name
        self.command = command
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(log_path)
        self.process = None

    @classmethod
    def gunicorn(cls, database_url, workers, log_path, **extra):
        """With more than one worker, production wants a shared RATELIMIT_STORAGE_URI
        in `extra` (it refuses memory://)."""
        port = free_port()
        env = server_environment("production", database_url, port,
                                 GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers),
                                 **extra)
        return cls("gunicorn", [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                "wsgi:app"], env, port, log_path)

    @classmethod
    def dev_server(cls, database_url, log_path, **extra):
        port = free_port()
        env = server_environment("development", database_url, port, **extra)
        return cls("flask serve", [sys.executable, "-m", "flask", "serve", "--host",
                                   "127.0.0.1", "--port", str(port)], env, port, log_path)

    def start(self, timeout=60):
        with open(self.log_path, "wb") as log:
            # A session of its own: stopping it reaches its workers, and nothing else.
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return wait_until_answering(self, timeout, pause=0.2)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn: graceful shutdown of its workers
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request_log(self):
        """The portal.requests lines (JSON, one per request)."""
        lines = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return [line for line in lines if "status" in line and "route" in line]

    def trouble(self):
        """Log lines that speak of an error, and request lines with a 5xx status."""
        found = [line for line in self.log().splitlines() if TROUBLE.search(line)]
        found += [json.dumps(line) for line in self.request_log() if line["status"] >= 500]
        return found
