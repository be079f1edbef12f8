"""`flask audit verify` and `flask audit checkpoint`: the audit log's chain and its end."""
import click
from flask import current_app
from flask.cli import AppGroup

from ..audit.chain import current_checkpoint, verify_chain
from ..audit.checkpoint import CheckpointError, append_checkpoint, read_checkpoints
from ..extensions import db

audit = AppGroup("audit", help="The audit log.")


@audit.command("verify")
@click.option("--checkpoints", "checkpoint_file", type=click.File("r", encoding="ascii"),
              help="A checkpoint file (from `flask audit checkpoint`): the chain must "
                   "still reach every checkpoint in it, with the same hash.")
def audit_verify(checkpoint_file):
    """Check the audit log's hash chain; exit status 1 names the first broken entry."""
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
