"""CSV downloads, streamed a row at a time so a large export never sits in memory."""
import csv
import io

from flask import Response, stream_with_context

# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """The value as CSV text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def stream_csv(filename, header, rows):
    """A download of `header` then each row of the iterable `rows` (lists of values).

    `rows` is consumed lazily while the response is sent; pass a generator
    that reads the database in batches (e.g. `yield_per`).
    """
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([spreadsheet_safe(value) for value in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
