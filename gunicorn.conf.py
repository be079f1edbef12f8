"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Each value can be overridden from the environment, as in the README's
production section.
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each request is short and database-bound. Two per core, plus one.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# No worker recycling by default: at a few hundred requests a second, restarting a
# worker every 2,000 requests (a fresh interpreter, app and database pool each time)
# cost about 0.55 ms per request, and nothing in the portal is known to leak. An
# operator who wants it back sets GUNICORN_MAX_REQUESTS (the jitter is a tenth).
# Not preloaded either: the app would be built before the fork, and a worker
# must never inherit the parent's database connections.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
# The portal writes its own structured request log (no link tokens in it);
# gunicorn's access log would print every raw path, tokens included.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client IP comes from the portal's TRUSTED_PROXY_HOPS setting, not from
# gunicorn's header handling: trust no forwarded header here.
forwarded_allow_ips = ""
proxy_allow_ips = ""

# gunicorn 27's control socket (~/.gunicorn/gunicorn.ctl) is not used: deploys restart
# through the service manager, and two gunicorns on one host would share its path.
control_socket_disable = True


def on_starting(server):
    """Tell the portal how many workers share this host's requests (-w on the command
    line included): with more than one, production refuses per-process (memory://)
    throttling counters (config.py)."""
    os.environ["PORTAL_WEB_PROCESSES"] = str(server.cfg.workers)
