"""`flask` commands: the same services the web views call."""
import threading

import click
from flask import Flask, current_app

from .extensions import db


def register_cli(app: Flask):
    @app.cli.group("demo")
    def demo():
        """Demo data."""

    @demo.command("load")
    def demo_load():
        """Fill an empty database with the demo accounts and messages (safe to repeat)."""
        from .demo.loader import load_demo_data

        report = load_demo_data()
        if report["messages"]:
            click.echo(f"Demo data loaded: {report['accounts']} accounts, "
                       f"{report['messages']} secure messages.")
        else:
            click.echo(f"Demo accounts checked ({report['accounts']}); "
                       f"{report.get('skipped', 'nothing to add')}.")
        db.session.remove()

    @app.cli.group("outbox")
    def outbox():
        """Email delivery from the outbox."""

    @outbox.command("work")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
    def outbox_work(once):
        """Deliver outbox emails over SMTP (run as its own process in production)."""
        from .notifications.delivery import deliver_due, run_worker, transport_for

        try:
            transport_for(current_app.config)
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
        if once:
            sent, failed = deliver_due()
            click.echo(f"Delivered {sent} email(s); {failed} will be retried.")
            return
        stop = threading.Event()
        try:
            run_worker(current_app._get_current_object(), stop)
        except KeyboardInterrupt:
            stop.set()

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    def serve(host, port):
        """Development server with the outbox worker in a background thread (`make run`)."""
        from werkzeug.serving import run_simple

        from .notifications.delivery import start_worker_thread

        app_object = current_app._get_current_object()
        start_worker_thread(app_object)
        where = "the Dev mailbox (/dev/mailbox)" if app_object.config.get("DEV_MAILBOX") \
            else f"SMTP at {app_object.config['MAIL_SERVER']}"
        click.echo(f"Secure Messaging Portal on http://{host}:{port} — email goes to {where}.")
        run_simple(host, port, app_object, threaded=True, use_reloader=False)
