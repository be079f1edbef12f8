"""`flask read-status discrepancies`: the discrepancy report, for QA scripts."""
import io
import itertools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask.cli import AppGroup

from ..messaging.discrepancies import (
    CSV_HEADER,
    DiscrepancyFilter,
    csv_row,
    each_discrepancy,
    text_line,
)
from ..models import utcnow
from ..web.csv_export import csv_writer, safe_row

read_status = AppGroup("read-status",
                       help="Read status and the access evidence behind it (for QA scripts).")


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
    for item in items:
        count += 1
        click.echo(text_line(item, now))
    click.echo(f"{count} read-status discrepanc{'y' if count == 1 else 'ies'}."
               if count else "No read-status discrepancies found.")
