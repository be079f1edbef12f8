"""A throwaway Redis on loopback (Debian's redis-server), no persistence: the shared
store of throttling counters when the portal runs in several processes."""
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .ports import free_port


def redis_available():
    return shutil.which("redis-server") is not None


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="portal-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, timeout=30):
        if not redis_available():
            raise RuntimeError("redis-server was not found: install Debian's redis-server")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.base),
             "--logfile", str(self.base / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.command("PING") != "+PONG":
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def command(self, *words):
        """One inline command; its first reply line, or None if nothing answers."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(" ".join(words).encode() + b"\r\n")
                return conn.makefile("rb").readline().decode().strip()
        except OSError:
            return None

    def log(self):
        path = self.base / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.base, ignore_errors=True)
