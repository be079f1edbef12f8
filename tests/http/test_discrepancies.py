"""Account > Read-status discrepancies: the page, its CSV export and the flask command
after a scripted mix of views in both read-status modes."""
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.messaging.discrepancies import CSV_HEADER
from portal.messaging.reading import open_message, record_link_opened
from portal.messaging.recall import recall_messages
from portal.models import (
    AccessEvidence,
    AccountSettings,
    AuditChainHead,
    AuditLogEntry,
    Delivery,
    ReadStatusMode,
    RecallSource,
    ViewChannel,
    utcnow,
)
from tests.support.factories import TEST_REQUEST, account_mode, send

PAGE = "/account/read-status-discrepancies"
CSV_URL = "/account/read-status-discrepancies.csv"
ADMINS = ["readonly.admin@example.com", "basic.admin@example.com", "full.admin@example.com"]
NOT_ADMINS = ["alice@example.com", "bob@partner.example"]
DIRECT, INBOX = ViewChannel.DIRECT_LINK, ViewChannel.INBOX
EMPTY = "No read-status discrepancies were found"


def set_mode(mode):
    db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
    db.session.commit()


def listed(html):
    """Delivery ids of the report's rows, in page order."""
    return [int(n) for n in re.findall(r'<tr id="discrepancy-(\d+)"', html)]


def row_text(html, delivery_id):
    row = re.search(rf'<tr id="discrepancy-{delivery_id}">(.*?)</tr>', html, re.DOTALL).group(1)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())


def csv_rows(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="read-status-discrepancies.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == CSV_HEADER
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]


def csv_ids(response):
    return [int(row["Delivery ID"]) for row in csv_rows(response)]


def cli_ids(app, *args):
    result = app.test_cli_runner().invoke(args=["read-status", "discrepancies", *args])
    assert result.exit_code == 0, result.output
    return [int(n) for n in re.findall(r"^delivery (\d+) · ", result.output, re.MULTILINE)]


def cli_csv_ids(app, *args):
    result = app.test_cli_runner().invoke(
        args=["read-status", "discrepancies", "--format", "csv", *args])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == CSV_HEADER
    return [int(row[0]) for row in rows[1:]]


def local(value, zone="UTC"):
    shown = value.astimezone(ZoneInfo(zone))
    return f"{shown:%d %b %Y %H:%M} {shown.tzname()}"


@pytest.fixture
def admin(app, people, auth):
    def sign_in(email="readonly.admin@example.com", time_zone=None):
        if time_zone:
            with app.app_context():
                people[email].time_zone = time_zone
                db.session.commit()
        assert auth.sign_in(email).status_code == 302

    return sign_in


class Script:
    """Views, link opens and recalls, one minute apart, through the portal's services."""

    def __init__(self, people):
        self.people = people
        self.start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=6)
        self.minutes = count(1)
        self.first_shown = {}  # delivery id -> time of its first view

    def tick(self):
        return self.start + timedelta(minutes=next(self.minutes))

    def send(self, sender, to, subject, cc=()):
        message, _ = send(self.people[sender], to, cc=cc, subject=subject, now=self.start)
        return message.id, {d.recipient.email: d.id for d in message.deliveries}

    def open(self, delivery_id, channel):
        delivery = db.session.get(Delivery, delivery_id)
        at = self.tick()
        if open_message(delivery.recipient, delivery, channel, read_status_mode=account_mode(),
                        request_info=TEST_REQUEST,
                        now=at).shown:
            self.first_shown.setdefault(delivery_id, at)

    def link(self, delivery_id, *, scanner=False, signed_in=False):
        record_link_opened(db.session.get(Delivery, delivery_id), signed_in=signed_in,
                           suspected_scanner=scanner, request_info=TEST_REQUEST, now=self.tick())

    def recall(self, message_id, by, source):
        recall_messages(self.people[by], [message_id], source=source, reason="Wrong client",
                        request_info=TEST_REQUEST, now=self.tick())


BOB, ERIN, FRANK = "bob@partner.example", "erin@partner.example", "frank@client.example"


def play_first_two_phases(script):
    """content_viewed, then inbox_selection. Returns the deliveries by name."""
    d = {}
    set_mode(ReadStatusMode.CONTENT_VIEWED)
    _, contract = script.send("alice@example.com", [BOB, ERIN], "Contract", cc=[FRANK])
    script.link(contract[BOB], scanner=True)
    script.open(contract[BOB], DIRECT)             # Read at once in content_viewed
    script.link(contract[ERIN], scanner=True)      # a scanner's fetch is not a view
    _, payroll = script.send("dave@example.com", [BOB, FRANK], "Payroll")
    script.open(payroll[FRANK], INBOX)

    set_mode(ReadStatusMode.INBOX_SELECTION)
    _, board = script.send("alice@example.com", [BOB, ERIN, FRANK], "Board pack")
    script.link(board[BOB], signed_in=True)
    script.open(board[BOB], DIRECT)                # Sent, body shown: listed
    script.open(board[ERIN], DIRECT)
    script.open(board[ERIN], INBOX)                # selected in the Inbox: Read
    script.open(board[FRANK], INBOX)
    _, settlement = script.send("dave@example.com", [ERIN, BOB], "Settlement offer")
    script.link(settlement[ERIN], scanner=True)
    script.link(settlement[ERIN], scanner=True)
    script.link(settlement[ERIN], signed_in=True)
    script.open(settlement[ERIN], DIRECT)
    script.open(settlement[ERIN], DIRECT)          # listed, two views
    script.open(settlement[BOB], DIRECT)           # listed until phase three
    medical_id, medical = script.send("alice@example.com", [FRANK], "Medical report")
    script.open(medical[FRANK], DIRECT)
    script.recall(medical_id, "basic.admin@example.com", RecallSource.ADMIN)
    script.open(medical[FRANK], DIRECT)            # refused; still listed: read before recall
    tender_id, tender = script.send("dave@example.com", [BOB], "Tender")
    script.recall(tender_id, "dave@example.com", RecallSource.SENDER)
    script.open(tender[BOB], DIRECT)               # refused, never shown: not listed
    script.link(payroll[BOB], scanner=True)
    script.open(contract[FRANK], DIRECT)           # an older message, listed now
    d.update(board_bob=board[BOB], settlement_erin=settlement[ERIN],
             settlement_bob=settlement[BOB], medical_frank=medical[FRANK],
             contract_frank=contract[FRANK], contract_bob=contract[BOB],
             contract_erin=contract[ERIN], tender_bob=tender[BOB], board_erin=board[ERIN])
    return d


def play_third_phase(script, d):
    """Back to content_viewed: a direct view now makes Read; old discrepancies stay."""
    set_mode(ReadStatusMode.CONTENT_VIEWED)
    script.open(d["settlement_bob"], DIRECT)       # resolved
    _, audit = script.send("alice@example.com", [ERIN], "Audit findings")
    script.open(audit[ERIN], DIRECT)
    script.link(d["board_bob"], scanner=True)      # more evidence, no view: no change


EXPECTED = ["contract_frank", "medical_frank", "settlement_erin", "board_bob"]  # newest first


@pytest.fixture
def mix(app, people):
    with app.app_context():
        script = Script(people)
        d = play_first_two_phases(script)
        play_third_phase(script, d)
        db.session.remove()
    return d, script


# -- exactly the disagreeing recipients, everywhere ----------------------------------------

def test_the_report_follows_a_scripted_mix_in_both_modes(app, people, admin, client):
    admin()
    with app.app_context():
        script = Script(people)
        d = play_first_two_phases(script)
        db.session.remove()
    after_two = ["contract_frank", "medical_frank", "settlement_bob", "settlement_erin",
                 "board_bob"]
    assert listed(client.get(PAGE).get_data(as_text=True)) == [d[n] for n in after_two]
    with app.app_context():
        play_third_phase(script, d)
        db.session.remove()
    assert listed(client.get(PAGE).get_data(as_text=True)) == [d[n] for n in EXPECTED]


def test_page_csv_and_command_list_exactly_the_same_deliveries(app, admin, client, mix):
    d, _ = mix
    expected = [d[name] for name in EXPECTED]
    admin()
    html = client.get(PAGE).get_data(as_text=True)
    assert listed(html) == expected
    assert "4 discrepancies found" in html
    assert csv_ids(client.get(CSV_URL)) == expected
    assert cli_ids(app) == expected
    assert cli_csv_ids(app) == expected
    never = {"contract_bob", "contract_erin", "tender_bob", "board_erin", "settlement_bob"}
    assert not {d[n] for n in never} & set(expected)


def test_each_row_shows_the_evidence_with_times(admin, client, mix):
    d, script = mix
    admin("basic.admin@example.com", time_zone="America/New_York")
    html = client.get(PAGE).get_data(as_text=True)
    erin = row_text(html, d["settlement_erin"])
    first = script.first_shown[d["settlement_erin"]]
    assert erin.startswith("Settlement offer dave@example.com erin@partner.example Sent ")
    assert f"{local(first, 'America/New_York')} via Direct link 2 " in erin
    assert erin.count("(suspected link scanner)") == 2
    assert erin.count(", signed in") == 1
    assert f'<time datetime="{first.isoformat()}">' in html
    frank = row_text(html, d["medical_frank"])
    assert frank.startswith("Medical report Message Recalled alice@example.com frank@client.example")
    assert " via Direct link 1 none" in frank  # one view before the recall, no link opens
    bob = row_text(html, d["board_bob"])
    assert "(suspected link scanner)" in bob and ", signed in" in bob
    assert 'href="/admin/secure-messaging/messages/' in html


def test_the_csv_export_stays_a_get_because_it_writes_nothing(app, admin, client, mix):
    """A link anyone can craft may open it: it records no audit entry and no evidence
    (unlike the Audit Logs export, which is audited and therefore a POST)."""
    admin()

    def written():
        with app.app_context():
            counts = tuple(db.session.scalar(select(func.count()).select_from(model))
                           for model in (AuditLogEntry, AccessEvidence, AuditChainHead))
            head = db.session.get(AuditChainHead, 1).last_seq
            db.session.remove()
        return counts, head

    before = written()
    assert csv_ids(client.get(CSV_URL)) and csv_ids(client.get(f"{CSV_URL}?start=2000-01-01"))
    assert client.head(CSV_URL).status_code == 200
    assert written() == before


def test_the_csv_carries_the_evidence_in_iso_utc(admin, client, mix):
    d, script = mix
    admin(time_zone="Asia/Tokyo")  # the admin's zone does not change the CSV's times
    rows = {int(r["Delivery ID"]): r for r in csv_rows(client.get(CSV_URL))}
    erin = rows[d["settlement_erin"]]
    assert erin["Body first shown (UTC)"] == script.first_shown[d["settlement_erin"]].isoformat()
    assert erin["Body first shown (UTC)"].endswith("+00:00")
    assert (erin["Subject"], erin["From"], erin["Recipient"]) == (
        "Settlement offer", "dave@example.com", "erin@partner.example")
    assert (erin["Recipient status"], erin["Message status"], erin["First shown via"]) == (
        "Sent", "Sent", "direct_link")
    assert (erin["Views"], erin["Link opens"], erin["Suspected scanner opens"]) == ("2", "3", "2")
    opens = erin["Link opened at (UTC)"].split("; ")
    assert [o.endswith("(suspected scanner)") for o in opens] == [True, True, False]
    for value in opens:
        assert datetime.fromisoformat(value.split(" ")[0]).tzinfo == UTC
    assert rows[d["medical_frank"]]["Message status"] == "Recalled"


# -- who may see it ------------------------------------------------------------------------

@pytest.mark.parametrize("email", ADMINS)
@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_every_admin_role_may_see_it(admin, client, mix, email, url):
    d, _ = mix
    admin(email)
    response = client.get(url)
    assert response.status_code == 200
    if url == PAGE:
        html = response.get_data(as_text=True)
        assert "<title>Read-status discrepancies · Secure Messaging Portal</title>" in html
        assert "<h1>Read-status discrepancies</h1>" in html
        assert listed(html) == [d[n] for n in EXPECTED]


@pytest.mark.parametrize("email", NOT_ADMINS)
@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_senders_and_recipients_are_refused(auth, client, mix, email, url):
    auth.sign_in(email)
    response = client.get(url)
    assert response.status_code == 403
    assert "Settlement offer" not in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_signed_out_goes_to_sign_in(client, people, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


# -- empty, filtered, bad input ------------------------------------------------------------

def test_none_found(admin, client):
    admin()
    html = client.get(PAGE).get_data(as_text=True)
    assert f"{EMPTY}." in html
    assert "<table" not in html
    assert "0 discrepancies found" in html
    assert csv_ids(client.get(CSV_URL)) == []
    filtered = client.get(f"{PAGE}?start=2025-01-01&end=2025-01-31").get_data(as_text=True)
    assert f"{EMPTY} for these dates." in filtered


@pytest.fixture
def dated(app, people):
    """Discrepancies first shown either side of 15 January 2025 in New York (UTC-5)."""
    firsts = {"a": "2025-01-15T04:59:59", "b": "2025-01-15T05:00:00",
              "c": "2025-01-16T04:59:59", "d": "2025-01-16T05:00:00"}
    ids = {}
    with app.app_context():
        set_mode(ReadStatusMode.INBOX_SELECTION)
        for name, first in firsts.items():
            at = datetime.fromisoformat(first).replace(tzinfo=UTC)
            message, _ = send(people["alice@example.com"], [BOB], subject=f"Dated {name}",
                              now=at - timedelta(days=1))
            delivery = message.deliveries[0]
            assert open_message(delivery.recipient, delivery, DIRECT,
                                read_status_mode=account_mode(), request_info=TEST_REQUEST, now=at).shown
            ids[name] = delivery.id
        db.session.remove()
    return ids


@pytest.mark.parametrize("query,zone,expected", [
    ("start=2025-01-15&end=2025-01-15", "America/New_York", "cb"),
    ("start=2025-01-15&end=2025-01-15", "UTC", "ba"),
    ("start=2025-01-15", "America/New_York", "dcb"),
    ("end=2025-01-15", "America/New_York", "cba"),
    ("start=2025-01-16&end=2025-01-16", "Europe/Berlin", "dc"),
    ("start=2025-01-17", "UTC", ""),
    ("", "America/New_York", "dcba"),
    ("start=&end=", "UTC", "dcba"),
])
def test_the_date_filter_takes_whole_days_in_the_admins_zone(app, admin, client, dated,
                                                             query, zone, expected):
    admin(time_zone=zone)
    ids = [dated[name] for name in expected]
    html = client.get(f"{PAGE}?{query}").get_data(as_text=True)
    assert listed(html) == ids
    assert csv_ids(client.get(f"{CSV_URL}?{query}")) == ids
    args = dict(pair.split("=") for pair in query.split("&") if pair and pair.split("=")[1])
    cli_args = [f"--{'since' if k == 'start' else 'until'}={v}" for k, v in args.items()]
    assert cli_ids(app, *cli_args, f"--time-zone={zone}") == ids
    if args:  # the form shows the days it used, and the export keeps them
        for key, value in args.items():
            assert f'name="{key}" value="{value}"' in html
        export = re.search(r'<a class="button" href="([^"]+)" download>Export CSV</a>', html)
        assert unescape(export.group(1)) == f"{CSV_URL}?{'&'.join(f'{k}={v}' for k, v in args.items())}"


@pytest.mark.parametrize("query,field,message", [
    ("start=yesterday", "start", "The From date is not a date (use YYYY-MM-DD)."),
    ("end=2025-02-30", "end", "The To date is not a date (use YYYY-MM-DD)."),
    ("start=2025-01-16&end=2025-01-15", "end", "The To date must be on or after the From date."),
    ("start=0001-01-01", "start", "The From date must be between 1970-01-01 and 9998-12-31."),
    ("end=9999-12-31", "end", "The To date must be between 1970-01-01 and 9998-12-31."),
    ("start=" + "9" * 5000, "start", "The From date is not a date (use YYYY-MM-DD)."),
    ("start=2025-01-15T00:00", "start", "The From date is not a date (use YYYY-MM-DD)."),
])
@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_bad_dates_are_a_400_with_the_error_beside_the_field(admin, client, dated, query,
                                                             field, message, url):
    admin()
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html)
    assert "The report was not run. Correct the dates marked above." in html
    assert listed(html) == []
    assert "Export CSV" not in html


@pytest.mark.parametrize("query", [
    "page=abc", "page=-3", "page=0", "page=99999999999999999999999", "page=1.5",
    "start=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95-01-15", "start=2025-01-15&start=nonsense",
    "end=%F0%9F%98%80", "start=%00", "start=2025-1-5", "start[]=2025-01-15", "sort=oldest",
    "start=1970-01-01&end=9998-12-31",
])
@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_no_input_is_a_500(admin, client, dated, query, url):
    admin(time_zone="Pacific/Kiritimati")
    response = client.get(f"{url}?{query}")
    assert response.status_code in (200, 400), query


# -- pages, and the export of the page's filter --------------------------------------------

@pytest.fixture
def five(app, people):
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)
    ids = []
    with app.app_context():
        set_mode(ReadStatusMode.INBOX_SELECTION)
        for n in range(5):
            message, _ = send(people["dave@example.com"], [FRANK], subject=f"Five {n}",
                              now=start)
            delivery = message.deliveries[0]
            open_message(delivery.recipient, delivery, DIRECT, read_status_mode=account_mode(),
                         request_info=TEST_REQUEST,
                         now=start + timedelta(minutes=n))
            ids.append(delivery.id)
        db.session.remove()
    return ids[::-1]  # newest first


@pytest.mark.parametrize("page,shown,rows", [("1", 1, [0, 1]), ("2", 2, [2, 3]),
                                             ("3", 3, [4]), ("9", 3, [4]), ("x", 1, [0, 1])])
def test_pages_newest_first_with_a_total(app, admin, client, five, page, shown, rows):
    app.config["PAGE_SIZE"] = 2
    admin()
    html = client.get(f"{PAGE}?page={page}").get_data(as_text=True)
    assert listed(html) == [five[i] for i in rows]
    assert "5 discrepancies found" in html
    assert f"Page {shown} of 3 · 5 in all" in html
    assert ('rel="prev"' in html) is (shown > 1)
    assert ('rel="next"' in html) is (shown < 3)


def test_the_pages_together_are_the_csv_for_the_same_filter(app, admin, client, five, dated):
    app.config["PAGE_SIZE"] = 2
    admin(time_zone="America/New_York")
    query = "start=2025-01-15&end=2025-01-16"
    seen, url = [], f"{PAGE}?{query}"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += listed(html)
        following = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = unescape(following.group(1)) if following else None
        if url:
            assert "start=2025-01-15" in url and "end=2025-01-16" in url
    assert seen == [dated[n] for n in "dcb"]
    assert csv_ids(client.get(f"{CSV_URL}?{query}&page=2")) == seen  # the page is not a filter
    everything = csv_ids(client.get(CSV_URL))
    assert everything == five + [dated[n] for n in "dcba"]
