"""Row ids in URLs and forms: whole numbers a database integer column can hold."""
from werkzeug.routing import IntegerConverter

# The id columns are 32-bit integers on PostgreSQL. A larger number names no row,
# and sent to the database it overflows (SQLite raises OverflowError past 64 bits).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<int:...>` in the portal's routes: beyond MAX_ROW_ID the URL matches no route (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_row_id(text):
    """`text` as a row id if it is one written plainly, else None.

    Plainly: ASCII digits, at most MAX_ROW_ID. `str.isdigit` alone lets through digits
    `int` refuses (`²`), thousands of digits `int` refuses too, and numbers no row has.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ROW_ID)):
        return None
    value = int(text)
    return value if value <= MAX_ROW_ID else None
