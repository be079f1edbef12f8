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
        from .demo.data import load_demo_data

        if current_app.config["ENV_NAME"] == "production":
            # Every demo account shares one published password.
            raise click.ClickException(
                "flask demo load does not run with the production configuration: the demo "
                "accounts share a published password. Load demo data into a development "
                "database: PORTAL_CONFIG=development flask demo load (make demo does this).")
        report = load_demo_data()
        if report["messages"]:
            click.echo(f"Demo data loaded: {report['accounts']} accounts, "
                       f"{report['messages']} secure messages.")
        else:
            click.echo(f"Demo accounts checked ({report['accounts']}); "
                       f"{report.get('skipped', 'nothing to add')}.")
        db.session.remove()

    @app.cli.group("users")
    def users():
        """Internal accounts."""

    @users.command("add")
    @click.argument("email")
    @click.option("--admin-role", type=click.Choice(["read_only", "basic", "full"]),
                  help="Make an administrator with this role (default: an internal sender).")
    @click.password_option(help="Asked for if not given; at least 12 characters.")
    def users_add(email, admin_role, password):
        """Add an internal sender, or an administrator (the first one of a new installation)."""
        from .core.request_info import NO_REQUEST
        from .identity.users import AccountError, create_internal_user

        try:
            user = create_internal_user(email, password, admin_role=admin_role,
                                        request_info=NO_REQUEST)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        what = user.admin_role.label if user.admin_role else "internal sender"
        click.echo(f"Added {user.email} ({what}).")

    @app.cli.group("audit")
    def audit():
        """The audit log."""

    @audit.command("verify")
    @click.option("--checkpoints", "checkpoint_file", type=click.File("r", encoding="ascii"),
                  help="A checkpoint file (from `flask audit checkpoint`): the chain must "
                       "still reach every checkpoint in it, with the same hash.")
    def audit_verify(checkpoint_file):
        """Check the audit log's hash chain; exit status 1 names the first broken entry."""
        from .audit.chain import verify_chain
        from .audit.checkpoint import CheckpointError, read_checkpoints

        records = []
        if checkpoint_file is not None:
            try:
                records = read_checkpoints(checkpoint_file)
            except (CheckpointError, UnicodeDecodeError) as error:
                raise click.BadParameter(f"{checkpoint_file.name}: {error}.",
                                         param_hint="--checkpoints") from None
        report = verify_chain(checkpoints=records)
        if report.ok:
            click.echo(f"Audit chain verified: {report.checked} entries, unbroken.")
            if checkpoint_file is not None:
                click.echo(f"It reaches all {report.checkpoints} checkpoint(s) in "
                           f"{checkpoint_file.name}" + (
                               f", the newest at position {report.newest_checkpoint}."
                               if report.checkpoints else "."))
            return
        click.echo(f"Audit chain BROKEN after {report.checked} good entries: {report.problem}.",
                   err=True)
        raise SystemExit(1)

    @audit.command("checkpoint")
    @click.option("--to", "path", type=click.Path(dir_okay=False, writable=True),
                  help="The checkpoint file to add to (default: AUDIT_CHECKPOINT_PATH).")
    def audit_checkpoint(path):
        """Add the end of the audit chain to a checkpoint file (run it from cron).

        Ship the file somewhere the database's writers cannot reach;
        `flask audit verify --checkpoints FILE` proves the chain still reaches it.
        """
        from .audit.chain import current_checkpoint
        from .audit.checkpoint import append_checkpoint

        path = path or current_app.config.get("AUDIT_CHECKPOINT_PATH")
        try:
            record = current_checkpoint()
        except ValueError as error:
            raise click.ClickException(f"No checkpoint written: {error}.") from None
        finally:
            db.session.remove()
        if path:
            try:
                append_checkpoint(path, record)
            except OSError as error:
                raise click.ClickException(f"Could not write to {path}: "
                                           f"{error.strerror}.") from None
            click.echo(f"Checkpoint added to {path}: position {record.seq}.", err=True)
        click.echo(record.to_line())

    @app.cli.group("messages")
    def messages():
        """Secure messages."""

    @messages.command("re-encrypt")
    @click.option("--batch", "batch_size", default=500, show_default=True,
                  type=click.IntRange(min=1), help="Bodies per transaction.")
    def messages_re_encrypt(batch_size):
        """Re-encrypt every message body under MESSAGE_KEY_ID (key rotation, no downtime).

        Keep every old key in MESSAGE_KEYS until this has finished; then the keys it
        names as no longer used may be removed.
        """
        from .messaging.re_encryption import re_encrypt_bodies
        from .models.body_encryption import BodyDecryptionError, BodyKeyError

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

    @app.cli.group("read-status")
    def read_status():
        """Read status and the access evidence behind it (for QA scripts)."""

    @read_status.command("discrepancies")
    @click.option("--since", metavar="YYYY-MM-DD",
                  help="Only those whose body was first shown on or after this day.")
    @click.option("--until", metavar="YYYY-MM-DD",
                  help="Only those whose body was first shown on or before this day.")
    @click.option("--time-zone", default="UTC", show_default=True,
                  help="The time zone of --since and --until (an IANA name).")
    @click.option("--format", "output_format", type=click.Choice(["text", "csv"]),
                  default="text", show_default=True)
    def read_status_discrepancies(since, until, time_zone, output_format):
        """Recipients whose status says Sent although the body was shown to them, newest first.

        The list of Account > Read-status discrepancies; `--format csv` is its CSV export.
        """
        import io
        import itertools
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from .messaging.discrepancies import (
            CSV_HEADER,
            DiscrepancyFilter,
            csv_row,
            each_discrepancy,
            text_line,
        )
        from .models import utcnow
        from .web.csv_export import csv_writer, safe_row

        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America", a folder
            raise click.BadParameter(f"{time_zone!r} is not a known time zone.",
                                     param_hint="--time-zone") from None
        report_filter = DiscrepancyFilter.from_values(
            since, until, labels=("--since date", "--until date"))
        if report_filter.errors:
            raise click.UsageError(" ".join(report_filter.errors.values()))
        now = utcnow()
        items = each_discrepancy(report_filter, time_zone)
        if output_format == "csv":
            line = io.StringIO()
            writer = csv_writer(line)
            for values in itertools.chain([CSV_HEADER], (csv_row(item, now) for item in items)):
                writer.writerow(safe_row(values))
                click.echo(line.getvalue(), nl=False)
                line.seek(0)
                line.truncate()
            return
        count = 0
        for count, item in enumerate(items, start=1):
            click.echo(text_line(item, now))
        click.echo(f"{count} read-status discrepanc{'y' if count == 1 else 'ies'}."
                   if count else "No read-status discrepancies found.")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    def serve(host, port):
        """Development server with the outbox worker in a background thread (`make run`)."""
        from werkzeug.serving import run_simple

        from .notifications.delivery import start_worker_thread
        from .web.request_log import RequestHandlerWithoutAccessLog

        app_object = current_app._get_current_object()
        start_worker_thread(app_object)
        where = "the Dev mailbox (/dev/mailbox)" if app_object.config.get("DEV_MAILBOX") \
            else f"SMTP at {app_object.config['MAIL_SERVER']}"
        click.echo(f"Secure Messaging Portal on http://{host}:{port} — email goes to {where}.")
        # werkzeug's access log would print each raw path, link tokens included;
        # the portal.requests log has a line per request without them.
        run_simple(host, port, app_object, threaded=True, use_reloader=False,
                   request_handler=RequestHandlerWithoutAccessLog)
