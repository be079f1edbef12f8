"""nginx on loopback in front of several portal instances, as docs/production.md
configures it (plain HTTP here: the test needs the proxy hop, not TLS)."""
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.databases import running_in_ci
from tests.support.ports import free_port

from .servers import wait_until_answering

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """\
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;  # its lines would hold notification-link tokens
    client_body_temp_path {base}/body;
    proxy_temp_path {base}/proxy;
    fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi;
    scgi_temp_path {base}/scgi;
    upstream portal {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://portal;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def require(program, package):
    """The two-host test needs Debian's nginx and redis-server (`make test` installs
    them); in CI a missing one fails the run, elsewhere it skips the test."""
    if shutil.which(program) or os.path.exists(f"/usr/sbin/{program}"):
        return
    message = f"{program} is not installed (Debian package {package}): `make test` installs it"
    if running_in_ci():
        pytest.fail(message)
    pytest.skip(message)


class Nginx:
    name = "nginx"

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = Path(tempfile.mkdtemp(prefix="portal-nginx-"))
        self.process = None

    def start(self, upstreams, timeout=30):
        """`upstreams`: the portal instances' base URLs, taken in turn (round robin)."""
        # As root, nginx's worker runs as nobody: it must reach its temporary folders.
        os.chmod(self.base, 0o777)
        servers = "\n".join(f"        server {u.removeprefix('http://')};" for u in upstreams)
        (self.base / "nginx.conf").write_text(CONFIG.format(
            base=self.base, servers=servers, port=self.port))
        with open(self.base / "stdout.log", "wb") as out:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.base), "-c", str(self.base / "nginx.conf"),
                 "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        return wait_until_answering(self, timeout, pause=0.1)

    def log(self):
        return "\n".join(path.read_text(errors="replace")
                         for path in (self.base / "stdout.log", self.base / "error.log")
                         if path.exists())

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.base, ignore_errors=True)
