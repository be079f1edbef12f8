"""Email Delivery > Secure Messaging: what an administrator's search finds and shows."""
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest

from portal.extensions import db
from portal.messaging.recall import sender_recall
from portal.models import utcnow
from tests.support.factories import TEST_REQUEST, send

SEARCH = "/admin/secure-messaging"
COLUMNS = ["From", "To", "Subject", "Status", "Expiry Date", "Date/Time"]
NO_MATCH = "No secure messages match this search"


class ResultsTable(HTMLParser):
    """The results table as an admin reads it: header names and one dict per row.

    The tick-box column and text hidden from sight (arrows, screen-reader hints) are left out.
    """

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.found = False
        self.headers, self.rows = [], []
        self._in_table = self._in_body = False
        self._row = self._cell = None
        self._hidden = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "table" and "admin-results" in classes:
            self.found = self._in_table = True
        if not self._in_table:
            return
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag in ("th", "td"):
            self._cell = None if "tick" in classes else []
        elif self._cell is not None and (attrs.get("aria-hidden") == "true"
                                         or "visually-hidden" in classes):
            self._hidden += 1

    def handle_endtag(self, tag):
        if not self._in_table:
            return
        if tag == "table":
            self._in_table = False
        elif tag == "span" and self._hidden:
            self._hidden -= 1
        elif tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if tag == "th":
                self.headers.append(text)
            else:
                self._row.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(dict(zip(self.headers, self._row, strict=True)))
            self._row = None

    def handle_data(self, data):
        if self._cell is not None and not self._hidden:
            self._cell.append(data)


def subjects(html):
    return [row["Subject"] for row in ResultsTable(html).rows]


def count_text(html):
    match = re.search(r'<p class="result-count" role="status">(.*?)</p>', html, re.DOTALL)
    return unescape(match.group(1)) if match else None


def page_text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def make(app, people):
    """Sends a message from alice (unless told) at `ago` before now or at `at`."""

    def make_message(subject, *, ago=timedelta(hours=1), at=None, sender="alice@example.com",
                     to=("bob@partner.example",), **options):
        with app.app_context():
            message, _ = send(people[sender], list(to), subject=subject,
                              now=at or utcnow() - ago, **options)
            message_id = message.id
            db.session.remove()
        return message_id

    return make_message


# -- the fields -------------------------------------------------------------------------

@pytest.fixture
def cast(make):
    make("Payroll changes", to=["bob@partner.example"])
    make("Medical report", sender="dave@example.com", to=["frank@client.example"],
         cc=["erin@partner.example"])
    make("Quarterly PAYROLL summary", sender="dave@example.com", to=["bob@partner.example"])


@pytest.mark.parametrize("query,expected", [
    ("from=ALICE", {"Payroll changes"}),
    ("from=dave@EXAMPLE", {"Medical report", "Quarterly PAYROLL summary"}),
    ("from=partner", set()),  # senders only, not recipients
    ("to=BOB@partner", {"Payroll changes", "Quarterly PAYROLL summary"}),
    ("to=erin", {"Medical report"}),  # a Cc recipient counts
    ("to=client.example", {"Medical report"}),
    ("to=alice", set()),  # recipients only, not senders
    ("subject=payroll", {"Payroll changes", "Quarterly PAYROLL summary"}),
    ("subject=roll+CHA", {"Payroll changes"}),
    ("subject=report", {"Medical report"}),
    ("from=dave&subject=payroll", {"Quarterly PAYROLL summary"}),
    ("from=alice&to=frank", set()),
    ("subject=++medical++", {"Medical report"}),  # surrounding spaces are trimmed
])
def test_from_to_and_subject_are_case_insensitive_partial_matches(admin, client, cast,
                                                                  query, expected):
    admin()
    response = client.get(f"{SEARCH}?{query}")
    assert response.status_code == 200
    assert set(subjects(page_text(response))) == expected


@pytest.mark.parametrize("typed,matching,not_matching", [
    ("100%", "Target 100% met", "Target 1000 units"),
    ("file_a", "Copy of file_a", "Copy of fileXa"),
    ("%", "Discount 5%", "No discount at all"),
    ("_", "snake_case", "plain words"),
    ("C:\\R", "Path C:\\Reports", "Path C:Reports"),
])
def test_wildcards_typed_by_the_admin_match_literally(admin, client, make,
                                                      typed, matching, not_matching):
    make(matching)
    make(not_matching)
    admin()
    html = page_text(client.get(SEARCH, query_string={"subject": typed}))
    assert subjects(html) == [matching]


# -- time ranges ------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "?from=&to=&subject=&range=48h&status="])
def test_search_with_nothing_filled_shows_exactly_the_last_48_hours(admin, client, make, query):
    make("One hour ago", ago=timedelta(hours=1))
    make("47 hours ago", ago=timedelta(hours=47))
    make("49 hours ago", ago=timedelta(hours=49))
    make("Ten days ago", ago=timedelta(days=10))
    admin()
    html = page_text(client.get(SEARCH + query))
    assert subjects(html) == ["One hour ago", "47 hours ago"]
    assert count_text(html) == "2 messages found"
    assert '<option value="48h" selected>Last 48 hours</option>' in html


@pytest.mark.parametrize("range_,expected", [
    ("48h", ["Two hours ago"]),
    ("7d", ["Two hours ago", "Three days ago"]),
    ("30d", ["Two hours ago", "Three days ago", "Twenty days ago"]),
])
def test_time_range_presets(admin, client, make, range_, expected):
    make("Two hours ago", ago=timedelta(hours=2))
    make("Three days ago", ago=timedelta(days=3))
    make("Twenty days ago", ago=timedelta(days=20))
    make("Forty days ago", ago=timedelta(days=40))
    admin()
    html = page_text(client.get(f"{SEARCH}?range={range_}"))
    assert subjects(html) == expected


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def january(make):
    # New York is UTC-5 in January: 05:00 UTC is local midnight.
    make("Jan 14 12:00 UTC", at=utc(2025, 1, 14, 12, 0))
    make("Jan 15 03:00 UTC", at=utc(2025, 1, 15, 3, 0))    # 14 Jan 22:00 in New York
    make("Jan 15 04:59 UTC", at=utc(2025, 1, 15, 4, 59))   # 14 Jan 23:59 in New York
    make("Jan 15 05:00 UTC", at=utc(2025, 1, 15, 5, 0))    # 15 Jan 00:00 in New York
    make("Jan 15 23:30 UTC", at=utc(2025, 1, 15, 23, 30))  # 15 Jan 18:30 in New York
    make("Jan 16 04:00 UTC", at=utc(2025, 1, 16, 4, 0))    # 15 Jan 23:00 in New York
    make("Jan 17 06:00 UTC", at=utc(2025, 1, 17, 6, 0))


@pytest.mark.parametrize("zone,start,end,expected", [
    ("America/New_York", "2025-01-14", "2025-01-14",
     {"Jan 14 12:00 UTC", "Jan 15 03:00 UTC", "Jan 15 04:59 UTC"}),
    ("America/New_York", "2025-01-15", "2025-01-15",
     {"Jan 15 05:00 UTC", "Jan 15 23:30 UTC", "Jan 16 04:00 UTC"}),
    ("UTC", "2025-01-15", "2025-01-15",
     {"Jan 15 03:00 UTC", "Jan 15 04:59 UTC", "Jan 15 05:00 UTC", "Jan 15 23:30 UTC"}),
    ("America/New_York", "2025-01-13", "2025-01-17",
     {"Jan 14 12:00 UTC", "Jan 15 03:00 UTC", "Jan 15 04:59 UTC", "Jan 15 05:00 UTC",
      "Jan 15 23:30 UTC", "Jan 16 04:00 UTC", "Jan 17 06:00 UTC"}),
    ("America/New_York", "2025-01-18", "2025-01-20", set()),
])
def test_custom_range_is_inclusive_days_in_the_admins_time_zone(admin, client, january,
                                                                 zone, start, end, expected):
    admin(time_zone=zone)
    response = client.get(f"{SEARCH}?range=custom&start={start}&end={end}")
    assert response.status_code == 200
    assert set(subjects(page_text(response))) == expected


def test_a_message_at_03_utc_shows_on_the_previous_local_day_in_new_york(admin, client, make):
    make("Late evening in New York", at=utc(2025, 1, 15, 3, 0), expires_in=timedelta(days=1))
    admin(time_zone="America/New_York")
    html = page_text(client.get(f"{SEARCH}?range=custom&start=2025-01-14&end=2025-01-14"))
    [row] = ResultsTable(html).rows
    assert row["Date/Time"] == "14 Jan 2025 22:00 EST"
    assert row["Expiry Date"] == "15 Jan 2025 22:00 EST"


# -- status -----------------------------------------------------------------------------

@pytest.fixture
def statuses(app, people, make):
    make("Still open", ago=timedelta(hours=3))
    make("No expiry at all", ago=timedelta(hours=4), expires_in=None)
    make("Ran out", ago=timedelta(hours=30), expires_in=timedelta(hours=1))
    recalled = make("Taken back", ago=timedelta(hours=5))
    recalled_then_due = make("Taken back, then due", ago=timedelta(hours=40),
                             expires_in=timedelta(hours=2))
    with app.app_context():
        alice = people["alice@example.com"]
        sender_recall(alice, recalled, request_info=TEST_REQUEST)
        sender_recall(alice, recalled_then_due, request_info=TEST_REQUEST,
                      now=utcnow() - timedelta(hours=39))
        db.session.remove()


@pytest.mark.parametrize("status,expected", [
    ("Sent", {"Still open", "No expiry at all"}),
    ("Recalled", {"Taken back", "Taken back, then due"}),  # recall wins over a later expiry
    ("Expired", {"Ran out"}),
    ("", {"Still open", "No expiry at all", "Ran out", "Taken back", "Taken back, then due"}),
])
def test_status_filter(admin, client, statuses, status, expected):
    admin()
    html = page_text(client.get(SEARCH, query_string={"status": status}))
    rows = ResultsTable(html).rows
    assert {row["Subject"] for row in rows} == expected
    if status:
        assert {row["Status"] for row in rows} == {status}


def test_each_row_shows_its_status_and_expiry(admin, client, statuses):
    admin()
    rows = {row["Subject"]: row for row in ResultsTable(page_text(client.get(SEARCH))).rows}
    assert {subject: row["Status"] for subject, row in rows.items()} == {
        "Still open": "Sent", "No expiry at all": "Sent", "Ran out": "Expired",
        "Taken back": "Recalled", "Taken back, then due": "Recalled"}
    assert rows["No expiry at all"]["Expiry Date"] == ""
    assert rows["Still open"]["Expiry Date"].endswith(" UTC")


# -- columns, To summary, order ---------------------------------------------------------

@pytest.mark.parametrize("email", ["readonly.admin@example.com", "basic.admin@example.com",
                                   "full.admin@example.com"])
def test_column_headers_in_order(admin, client, make, email):
    make("Anything")
    admin(email)
    table = ResultsTable(page_text(client.get(SEARCH)))
    assert table.found
    assert table.headers == COLUMNS


@pytest.mark.parametrize("to,cc,shown", [
    (["bob@partner.example"], [], "bob@partner.example"),
    (["bob@partner.example", "erin@partner.example"], [], "bob@partner.example and 1 other(s)"),
    (["erin@partner.example"], ["bob@partner.example", "frank@client.example"],
     "erin@partner.example and 2 other(s)"),
    (["carol@partner.example", "bob@partner.example", "erin@partner.example"],
     ["frank@client.example"], "carol@partner.example and 3 other(s)"),
])
def test_to_shows_one_address_or_the_first_and_a_count(admin, client, make, to, cc, shown):
    make("Summary", to=to, cc=cc)
    admin()
    [row] = ResultsTable(page_text(client.get(SEARCH))).rows
    assert row["To"] == shown
    assert row["From"] == "alice@example.com"


@pytest.mark.parametrize("query,expected", [
    ("", ["One hour ago", "Two hours ago", "Three hours ago"]),
    ("?sort=oldest", ["Three hours ago", "Two hours ago", "One hour ago"]),
    ("?sort=newest", ["One hour ago", "Two hours ago", "Three hours ago"]),
])
def test_newest_first_unless_oldest_is_asked_for(admin, client, make, query, expected):
    make("Two hours ago", ago=timedelta(hours=2))
    make("One hour ago", ago=timedelta(hours=1))
    make("Three hours ago", ago=timedelta(hours=3))
    admin()
    assert subjects(page_text(client.get(SEARCH + query))) == expected


def test_sorting_keeps_the_other_criteria(admin, client, make):
    make("Payroll one", ago=timedelta(hours=1))
    make("Payroll two", ago=timedelta(hours=2))
    make("Something else", ago=timedelta(hours=3))
    admin()
    html = page_text(client.get(f"{SEARCH}?subject=payroll&sort=oldest&status=Sent"))
    assert subjects(html) == ["Payroll two", "Payroll one"]
    assert 'name="sort" value="oldest"' in html
    assert 'value="payroll"' in html


# -- pagination -------------------------------------------------------------------------

@pytest.fixture
def five(app, make):
    app.config["PAGE_SIZE"] = 2
    for n in range(5):
        make(f"Number {n}", ago=timedelta(minutes=10 + n))


@pytest.mark.parametrize("page,expected,count", [
    ("1", ["Number 0", "Number 1"], "5 messages found · page 1 of 3"),
    ("2", ["Number 2", "Number 3"], "5 messages found · page 2 of 3"),
    ("3", ["Number 4"], "5 messages found · page 3 of 3"),
    ("0", ["Number 0", "Number 1"], "5 messages found · page 1 of 3"),
    ("-2", ["Number 0", "Number 1"], "5 messages found · page 1 of 3"),
    ("abc", ["Number 0", "Number 1"], "5 messages found · page 1 of 3"),
])
def test_pages_and_the_total(admin, client, five, page, expected, count):
    admin()
    response = client.get(f"{SEARCH}?page={page}")
    assert response.status_code == 200
    html = page_text(response)
    assert subjects(html) == expected
    assert count_text(html) == count


def test_the_pager_links_keep_the_criteria(admin, client, five):
    admin()
    html = page_text(client.get(f"{SEARCH}?subject=number&page=2"))
    assert '<a href="/admin/secure-messaging?subject=number" rel="prev">' in html
    assert '<a href="/admin/secure-messaging?subject=number&amp;page=3" rel="next">' in html
    last = page_text(client.get(f"{SEARCH}?subject=number&page=3"))
    assert 'rel="next"' not in last and "Page 3 of 3" in last


@pytest.mark.parametrize("page", ["4", "99", "100001"])
def test_a_page_past_the_last_shows_the_last_page_not_an_empty_claim(admin, client, five, page):
    admin()
    response = client.get(f"{SEARCH}?page={page}")
    assert response.status_code == 200
    html = page_text(response)
    assert NO_MATCH not in html
    assert count_text(html) == "5 messages found · page 3 of 3"
    assert subjects(html) == ["Number 4"]


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807"])
def test_an_absurd_page_number_is_never_a_server_error(admin, client, five, page):
    admin()
    response = client.get(f"{SEARCH}?page={page}")
    assert response.status_code in (200, 400)
    assert "Something went wrong" not in page_text(response)
    if response.status_code == 200:
        assert count_text(page_text(response)) == "5 messages found · page 3 of 3"


@pytest.mark.parametrize("how_many,count", [(2, "2 messages found"), (1, "1 message found")])
def test_exactly_one_page_has_no_pager(app, admin, client, make, how_many, count):
    app.config["PAGE_SIZE"] = 2
    for n in range(how_many):
        make(f"Only {n}", ago=timedelta(minutes=5 + n))
    admin()
    html = page_text(client.get(SEARCH))
    assert len(subjects(html)) == how_many
    assert count_text(html) == count
    assert "page 1 of" not in html.lower()
    assert 'rel="next"' not in html and 'rel="prev"' not in html


# -- invalid input ----------------------------------------------------------------------

@pytest.mark.parametrize("query,error", [
    ("range=forever", "Choose a time range from the list."),
    ("status=Deleted", "Choose a status from the list."),
    ("status=sent", "Choose a status from the list."),
    ("range=custom", "Enter the From date for a custom range."),
    ("range=custom&end=2025-01-15", "Enter the From date for a custom range."),
    ("range=custom&start=2025-01-15", "Enter the To date for a custom range."),
    ("range=custom&start=2025-13-01&end=2025-12-31",
     "The From date is not a date (use YYYY-MM-DD)."),
    ("range=custom&start=2025-01-01&end=tomorrow", "The To date is not a date (use YYYY-MM-DD)."),
    ("range=custom&start=2025-01-15&end=2025-01-14",
     "The To date must be on or after the From date."),
])
def test_invalid_criteria_answer_400_with_the_error_beside_the_field(admin, client, make,
                                                                     query, error):
    make("Should not be listed")
    admin()
    response = client.get(f"{SEARCH}?{query}")
    assert response.status_code == 400
    html = page_text(response)
    assert error in html
    assert "The search was not run. Correct the fields marked above." in html
    assert not ResultsTable(html).found
    assert "Should not be listed" not in html
    assert 'role="search"' in html  # the form is there to correct


@pytest.mark.parametrize("zone,start,end,bad_field", [
    ("UTC", "2025-01-01", "9999-12-31", "end"),
    ("Europe/Berlin", "0001-01-01", "2025-01-01", "start"),
])
def test_a_custom_range_at_the_edge_of_the_calendar_is_refused_not_a_server_error(
        admin, client, make, zone, start, end, bad_field):
    make("Anything")
    admin(time_zone=zone)
    response = client.get(f"{SEARCH}?range=custom&start={start}&end={end}")
    assert response.status_code == 400
    html = page_text(response)
    assert f'<p class="field-error" id="{bad_field}-error">' in html
    assert "The search was not run" in html and not ResultsTable(html).found


@pytest.mark.parametrize("field", ["from", "to", "subject"])
def test_a_nul_character_in_a_search_field_is_never_a_server_error(admin, client, make, field):
    make("Ordinary message")
    admin()
    response = client.get(SEARCH, query_string={field: "ord\x00inary"})
    assert response.status_code in (200, 400)
    assert "Ordinary message" not in subjects(page_text(response))


@pytest.mark.parametrize("query", ["subject=nothing+like+this", "from=nobody", "status=Expired"])
def test_an_empty_result_says_so(admin, client, make, query):
    make("Ordinary message")
    admin()
    response = client.get(f"{SEARCH}?{query}")
    assert response.status_code == 200
    html = page_text(response)
    assert NO_MATCH in html
    assert not ResultsTable(html).found
    assert count_text(html) is None


# -- times ------------------------------------------------------------------------------

@pytest.mark.parametrize("zone,sent_at,shown", [
    ("America/New_York", utc(2025, 1, 15, 3, 0), "14 Jan 2025 22:00 EST"),
    ("America/New_York", utc(2025, 7, 15, 3, 0), "14 Jul 2025 23:00 EDT"),
    ("Europe/London", utc(2025, 1, 15, 3, 0), "15 Jan 2025 03:00 GMT"),
    ("Europe/London", utc(2025, 7, 15, 3, 0), "15 Jul 2025 04:00 BST"),
    ("UTC", utc(2025, 7, 15, 3, 0), "15 Jul 2025 03:00 UTC"),
])
def test_times_are_shown_in_the_admins_zone_with_the_zone_named(admin, client, make,
                                                                zone, sent_at, shown):
    make("Zoned", at=sent_at)
    admin(time_zone=zone)
    day = shown.split(" ", 3)
    local_day = datetime.strptime(" ".join(day[:3]), "%d %b %Y").date().isoformat()
    html = page_text(client.get(f"{SEARCH}?range=custom&start={local_day}&end={local_day}"))
    [row] = ResultsTable(html).rows
    assert row["Date/Time"] == shown
    assert f'datetime="{sent_at.isoformat()}"' in html


# -- htmx -------------------------------------------------------------------------------

HTMX = {"HX-Request": "true", "HX-Target": "search-results"}


def test_htmx_gets_only_the_results_block(admin, client, make):
    make("Fragment row")
    admin()
    response = client.get(f"{SEARCH}?subject=fragment", headers=HTMX)
    assert response.status_code == 200
    html = page_text(response)
    assert "<html" not in html and 'role="search"' not in html
    assert html.lstrip().startswith('<div id="search-results"')
    assert subjects(html) == ["Fragment row"]
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"},
                                     {"HX-Request": "true", "HX-Target": "elsewhere"},
                                     {"HX-Target": "search-results"}])
def test_other_requests_get_the_whole_page_and_vary_on_htmx(admin, client, make, headers):
    make("Whole page row")
    admin()
    response = client.get(SEARCH, headers=headers)
    html = page_text(response)
    assert "<html" in html and 'role="search"' in html
    assert subjects(html) == ["Whole page row"]
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_with_invalid_criteria_shows_no_results(admin, client, make):
    make("Hidden by the error")
    admin()
    response = client.get(f"{SEARCH}?range=forever", headers=HTMX)
    assert response.status_code in (200, 400)
    html = page_text(response)
    assert "The search was not run" in html
    assert "Hidden by the error" not in html and not ResultsTable(html).found


def test_a_body_is_never_on_the_search_page(admin, client, make):
    make("Subject only", body="BODY-TEXT-SEARCH-5521 is confidential")
    admin()
    html = page_text(client.get(SEARCH))
    assert subjects(html) == ["Subject only"]
    assert "BODY-TEXT-SEARCH-5521" not in html


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_a_subject_is_shown_as_text_never_as_markup(admin, client, make, headers):
    make('<img src=x onerror="alert(1)"> & more')
    admin()
    html = page_text(client.get(SEARCH, headers=headers))
    assert "<img src=x" not in html
    assert subjects(html) == ['<img src=x onerror="alert(1)"> & more']
