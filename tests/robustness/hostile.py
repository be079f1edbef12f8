"""Hypothesis strategies for hostile input: what a form or URL can be made to carry.

Every value a case sends that holds one of < > " ' also holds a canary: `zq`, the
four characters themselves, and digits (`zq<'">01234`). Escaped, it reads
`zq&lt;&#39;&#34;&gt;01234`; the page's own markup can never put those characters
between `zq` and digits. So a canary found raw in a page means the page printed a
sent or stored value unescaped, and nothing else: not a value that merely ends
where an attribute's closing quote begins.
"""
import re
from datetime import date

from hypothesis import strategies as st

SPECIAL = set("<>\"'")
CANARY = re.compile(r"""zq<'">\d+""")


def canary(number):
    return f"zq<'\">{number:05d}"


marker = st.integers(0, 99_999).map(canary)

# Markup that breaks out of text, attributes, textareas and comments; each `{m}` is the marker.
MARKUP = (
    "<script>alert('{m}')</script>",
    "\"><img src=x onerror=alert('{m}')>",
    "' autofocus onfocus='alert({m})",
    "\" onmouseover=\"alert({m})\" x=\"",
    "</textarea></title></style><svg onload=alert('{m}')>",
    "<a href=\"javascript:alert('{m}')\">{m}</a>",
    "{{{{ 7*7 }}}}{{% debug %}}<b>{m}</b>",
    "<!--{m}--><",
    "<{m}>",
    "'{m}'",
    "\"{m}\"",
    "`{m}`<",
    "<img src='x' onerror=\"{m}\"/>",
    "&lt;{m}&gt;<x>",
    "javascript:alert('{m}')//\"",
    "<math><mi xlink:href=\"data:x,<script>alert('{m}')</script>\">",
)

# SQL and LIKE fragments; the quoted ones carry a marker like the markup does.
SQL = (
    "' OR '1'='1' -- {m}",
    "\"; DROP TABLE secure_messages; -- {m}",
    "' UNION SELECT password_hash, email FROM users -- {m}",
    "1); DELETE FROM audit_log_entries; --'{m}",
    "%",
    "%%",
    "_",
    "\\",
    "\\%",
    "%_\\",
    "'",
    "''",
    "1=1",
    "0 OR 1=1",
    "::text",
    "$1",
    "?",
    ":name",
)

# Control characters (NUL included: the portal refuses it at the door), line and
# direction marks, zero-width and combining characters, astral and wide forms, and
# letters whose lower case is longer than they are.
CHARACTERS = (
    "\x00", "\x01", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\r\n", "\x1b",
    "\x7f", "\x85", "\xa0", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a",
    "\u202e", "\u2066", "\u2069", "\u2028", "\u2029", "\ufeff", "\ufffd", "\uffff",
    "\u0301", "\u0338", "é", "ß", "İ", "ﬃ", "Ω", "K", "漢字", "עברית", "العربية",
    "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0001f600", "\U0010ffff", "\ue000",
    "＜ｓｃｒｉｐｔ＞", "ｓｅｌｅｃｔ", "²", "١٢٣", "½",
)

# A lone surrogate cannot be sent as UTF-8; these are the ways one is written
# down all the same: as invalid UTF-8 (CESU-8), as escapes, and other broken bytes.
BROKEN_BYTES = (
    b"\xed\xa0\x80",        # U+D800 encoded as if it were a character
    b"\xed\xbf\xbf",        # U+DFFF
    b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair spelled out (CESU-8 emoji)
    b"\xc0\xaf",            # an overlong "/"
    b"\xc0\x80",            # an overlong NUL
    b"\xff\xfe",
    b"\xf4\x90\x80\x80",    # beyond U+10FFFF
    b"\x80",
    b"caf\xe9",             # Latin-1, not UTF-8
)
SURROGATE_TEXT = ("\\ud800", "\\uDFFF", "&#xD800;", "&#55296;", "%ED%A0%80", "\\xed\\xa0\\x80")

# Where a number goes: text, signs, fractions, digits that are not ASCII, and
# integers past every width a database has.
NUMBERISH = (
    "", " ", "0", "-0", "-1", "-2147483648", "1.5", "1e3", "1e309", "0x10", "0b1", "+7",
    " 7", "7 ", "07", "7\n", "1_000", "NaN", "nan", "inf", "-inf", "null", "None", "true",
    "[]", "{}", "[1]", "１２", "²", "٣", "߂", "Ⅻ", "三", "2147483647", "2147483648",
    "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "1" + "0" * 30, "9" * 100, "9" * 5000,
)

# Where a date goes.
DATEISH = (
    "", " ", "2026-02-30", "2026-13-01", "2026-00-10", "2026-1-1", "20260101", "2026-W01-1",
    "2026-001", "2026-01-01T00:00", "2026-01-01 23:59:59+14:00", "0000-01-01", "0001-01-01",
    "1969-12-31", "1970-01-01", "9998-12-31", "9999-12-31", "10000-01-01", "-2026-01-01",
    "+2026-01-01", "２０２６-０１-０１", "2026-01-01\x00", "today", "yesterday", "01/02/2026",
    "2026/01/02", "1e9", "-1", "9" * 40,
)

LONG_LENGTHS = (65, 129, 255, 256, 501, 513, 1025, 4097, 100_001)
LONG_UNITS = ("a", "é", "👍", "İ", "%", "\\", canary(0), "' OR 1=1 ", "\u202e", " ")


markup = st.builds(lambda template, m: template.format(m=m), st.sampled_from(MARKUP), marker)
sql = st.builds(lambda template, m: template.format(m=m), st.sampled_from(SQL), marker)
over_long = st.builds(lambda length, unit: (unit * (length // len(unit) + 1))[:length],
                      st.sampled_from(LONG_LENGTHS), st.sampled_from(LONG_UNITS))
random_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from("<>\"'&%\\;")),
    max_size=40)


def mixed(valid=()):
    """A few pieces run together: valid values, markup, SQL, odd characters, random text."""
    pieces = [markup, sql, st.sampled_from(CHARACTERS), st.sampled_from(SURROGATE_TEXT),
              random_text]
    if valid:
        pieces.append(st.sampled_from(valid))
    return st.lists(st.one_of(pieces), min_size=1, max_size=4).map("".join)


def with_marker(value):
    """A value holding < > " ' gets a canary too (after its first such character, and at
    its end), so a page that prints it raw shows a canary raw."""
    if isinstance(value, str) and SPECIAL & set(value) and not CANARY.search(value):
        first = next(i for i, ch in enumerate(value) if ch in SPECIAL) + 1
        return f"{value[:first]}{canary(99999)}{value[first:]}{canary(99998)}"
    return value


def text_value(valid=()):
    """Hostile text, some of it built around the field's valid values."""
    return st.one_of(markup, sql, mixed(valid), over_long, random_text,
                     st.sampled_from(CHARACTERS), st.sampled_from(BROKEN_BYTES),
                     st.sampled_from(SURROGATE_TEXT), st.sampled_from(NUMBERISH),
                     ).map(with_marker)


def number_value():
    """Where a whole number goes: anything but a plain one, or one of any size."""
    return st.one_of(st.sampled_from(NUMBERISH), st.integers(-(2**70), 2**70).map(str),
                     st.integers(-3, 3).map(str), text_value())


def date_value():
    """Where a date goes: dates far and near, in every wrong shape, or anything."""
    return st.one_of(st.sampled_from(DATEISH), st.dates().map(date.isoformat), text_value())


def near_misses(choices):
    """Where one of `choices` goes: almost one of them, or anything."""
    near = ([c.upper() for c in choices] + [f" {c}" for c in choices]
            + [c + "\x00" for c in choices] + [c + "\u200b" for c in choices]
            + [c[:-1] for c in choices if c])
    return st.one_of(st.sampled_from(near), text_value())


def flag_value():
    return st.one_of(st.sampled_from(["1", "0", "false", "n", "off", "no", "yes", "2"]),
                     text_value())


def header_safe(value):
    """A header as a client could send it: bytes read as Latin-1, no line breaks."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    raw = value.encode("utf-8", "surrogatepass").decode("latin-1")
    return "".join(ch for ch in raw if ch not in "\r\n")[:2000]
