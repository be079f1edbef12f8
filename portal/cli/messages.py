"""`flask messages re-encrypt`: key rotation for message bodies and waiting emails."""
import click
from flask.cli import AppGroup

from ..extensions import db
from ..messaging.re_encryption import re_encrypt_bodies
from ..models.body_encryption import BodyDecryptionError, BodyKeyError

messages = AppGroup("messages", help="Secure messages.")


@messages.command("re-encrypt")
@click.option("--batch", "batch_size", default=500, show_default=True,
              type=click.IntRange(min=1), help="Bodies per transaction.")
def messages_re_encrypt(batch_size):
    """Re-encrypt every message body under MESSAGE_KEY_ID (key rotation, no downtime).

    Keep every old key in MESSAGE_KEYS until this has finished; then the keys it
    names as no longer used may be removed.
    """
    try:
        report = re_encrypt_bodies(batch_size)
    except (BodyKeyError, BodyDecryptionError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        db.session.remove()
    click.echo(f"Re-encrypted {report.changed} message bod"
               f"{'y' if report.changed == 1 else 'ies'} under key "
               f"{report.current_key_id!r}.")
    if report.emails_cancelled:
        click.echo(f"Cancelled outbox email(s) {', '.join(map(str, report.emails_cancelled))}"
                   ": their content failed authentication (altered in the database), "
                   "so they were never to be sent.")
    others = [k for k in report.keys_in_use if k != report.current_key_id]
    if others:
        click.echo(f"Bodies under key(s) {', '.join(others)} were written while this ran: "
                   "make sure every process uses the new MESSAGE_KEY_ID, then run it again.")
    elif report.unused_key_ids:
        click.echo(f"No body uses key(s) {', '.join(report.unused_key_ids)} any more: "
                   "they can be removed from MESSAGE_KEYS.")
