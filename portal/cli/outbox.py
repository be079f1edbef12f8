"""`flask outbox work`: email delivery, as its own process in production."""
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from ..notifications.delivery import deliver_due, run_worker, transport_for

outbox = AppGroup("outbox", help="Email delivery from the outbox.")


@outbox.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
def outbox_work(once):
    """Deliver outbox emails over SMTP (run as its own process in production)."""
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
