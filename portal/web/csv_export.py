"""CSV downloads, streamed a row at a time so a large export never sits in memory."""
import csv
import io
import re

from flask import Response, stream_with_context

# OWASP "CSV Injection": a cell starting with = + - @ TAB or CR is read as a
# formula, and so is any text after a field separator (, ; TAB CR LF) when a
# spreadsheet splits the cell there (a `;` locale opening a `,` file, or the
# reverse). Spaces before the formula character do not stop some programs.
FORMULA_ANYWHERE = re.compile(r"(?:\A|[,;\t\r\n]) *[=+\-@\t\r]")


def spreadsheet_safe(value):
    """The value as CSV text that no spreadsheet will run as a formula.

    A risky cell gets a leading single quote: spreadsheets show the text as it
    is, and a person reading the file can still see what was there.
    """
    text = "" if value is None else str(value)
    return "'" + text if FORMULA_ANYWHERE.search(text) else text


def safe_row(values):
    return [spreadsheet_safe(value) for value in values]


def csv_writer(buffer):
    """Every cell quoted, so a separator inside one never splits it."""
    return csv.writer(buffer, quoting=csv.QUOTE_ALL)


def stream_csv(filename, header, rows):
    """A download of `header` then each row of the iterable `rows` (lists of values).

    `rows` is consumed lazily while the response is sent; pass a generator
    that reads the database in batches (e.g. `yield_per`).
    """
    def generate():
        buffer = io.StringIO()
        writer = csv_writer(buffer)
        writer.writerow(safe_row(header))
        for row in rows:
            writer.writerow(safe_row(row))
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
