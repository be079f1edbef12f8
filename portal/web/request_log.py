"""Request logs: one JSON line per request on the `portal.requests` logger.

Each line holds the request id, method, route (the URL rule, such as
`/m/<token>`: never the path itself, which carries link and registration
tokens), endpoint, status, duration in milliseconds and the user id when
signed in. Nothing else from the request is logged: no query string, form
field, cookie or header other than a safe X-Request-ID.
"""
import json
import logging
import re
import time
import traceback
import uuid

from flask import g, request, request_started
from flask.logging import wsgi_errors_stream
from flask_login import current_user
from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger("portal.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it cannot smuggle anything into a log line.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def register(app):
    _give_the_log_a_handler()
    _keep_result_rows_out_of_logs()
    request_started.connect(_start, app)
    app.after_request(_finish)


def _give_the_log_a_handler():
    # Left alone if the deployment configured this logger; otherwise the JSON
    # alone on the server's error stream, not behind Flask's "[time] INFO in" prefix.
    if not log.handlers:
        handler = logging.StreamHandler(wsgi_errors_stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


def _keep_result_rows_out_of_logs():
    # SQLAlchemy logs result rows (bodies, token hashes) at DEBUG whenever the root
    # logger is that verbose; statement parameters are hidden by hide_parameters.
    # A deployment that sets this logger's level itself is left alone.
    sql = logging.getLogger("sqlalchemy.engine")
    if sql.level == logging.NOTSET:
        sql.setLevel(logging.WARNING)


def _start(sender, **extra):
    # A signal rather than before_request: it runs before every before_request
    # function, so requests they answer early are timed and identified too.
    g.request_started_at = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def request_id():
    return g.get("request_id") or "-"


def route():
    """The URL rule the request matched (`/m/<token>`), never the path; None for a 404."""
    return request.url_rule.rule if request.url_rule is not None else None


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started_at")
    user = current_user._get_current_object() if request.endpoint != "static" else None
    log.info(json.dumps({
        "request_id": request_id(),
        "method": request.method,
        "route": route(),
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "user_id": user.id if user is not None and user.is_authenticated else None,
    }))
    return response


def traceback_without_values(error):
    """The exception chain's types and frames, without the messages.

    A message can quote a value: a KeyError names its key, a database error its
    statement's parameters, an application error whatever it was given.
    """
    sections, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        kind = type(error)
        frames = "".join(traceback.format_tb(error.__traceback__))
        sections.append(f"Traceback (most recent call last):\n{frames}"
                        f"{kind.__module__}.{kind.__qualname__} (message not logged)")
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return "\n\nwhich led to:\n\n".join(reversed(sections))


class ExceptionsWithoutValues(logging.Filter):
    """Rewrites a record's exception as types and frames, so no message is logged.

    On the app's logger (see web.errors): the portal's error line and Flask's own.
    """

    def filter(self, record):
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}\n{traceback_without_values(record.exc_info[1])}"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


EXCEPTIONS_WITHOUT_VALUES = ExceptionsWithoutValues()  # one instance: added once per logger


class RequestHandlerWithoutAccessLog(WSGIRequestHandler):
    """werkzeug's development server (`flask serve`) without its access log.

    werkzeug writes one line per request with the raw path, which for a
    notification or registration link is the token; `portal.requests` logs the
    route instead.
    """

    def log_request(self, code="-", size="-"):
        pass

    def log_error(self, format, *args):
        # http.server quotes the raw request line in these: keep the status code only.
        code = next((arg for arg in args if isinstance(arg, int)), "-")
        self.log("error", "request refused by the server (status %s)", code)
