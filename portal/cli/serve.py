"""`flask serve`: the development server with the outbox worker beside it (`make run`)."""
import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from ..notifications.delivery import start_worker_thread
from ..web.request_log import RequestHandlerWithoutAccessLog


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host, port):
    """Development server with the outbox worker in a background thread (`make run`)."""
    app_object = current_app._get_current_object()
    start_worker_thread(app_object)
    where = "the Dev mailbox (/dev/mailbox)" if app_object.config.get("DEV_MAILBOX") \
        else f"SMTP at {app_object.config['MAIL_SERVER']}"
    click.echo(f"Secure Messaging Portal on http://{host}:{port} — email goes to {where}.")
    # werkzeug's access log would print each raw path, link tokens included;
    # the portal.requests log has a line per request without them.
    run_simple(host, port, app_object, threaded=True, use_reloader=False,
               request_handler=RequestHandlerWithoutAccessLog)
