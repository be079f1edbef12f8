"""Read-status discrepancies: the one query behind the Account page, its CSV and the CLI.

A discrepancy is a delivery whose recipient status is Sent although the body
was shown (MESSAGE_VIEWED evidence). Message Details already says so in a
sentence (`RecipientEvidence.disagreement`); these tests hold the report to
that definition after walks through both read-status modes.
"""
import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.discrepancies import (
    CSV_HEADER,
    DiscrepancyFilter,
    csv_row,
    discrepancy_page,
    each_discrepancy,
    text_line,
)
from portal.messaging.evidence_summary import summarise
from portal.messaging.reading import open_message, record_link_opened, record_view
from portal.messaging.recall import recall_messages
from portal.models import (
    AccessEvidence,
    AccountSettings,
    Delivery,
    EvidenceKind,
    ReadStatusMode,
    RecallSource,
    RecipientStatus,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from tests.support.factories import TEST_REQUEST, account_mode, send

CONTENT_VIEWED, INBOX_SELECTION = ReadStatusMode.CONTENT_VIEWED, ReadStatusMode.INBOX_SELECTION
DIRECT, INBOX = ViewChannel.DIRECT_LINK, ViewChannel.INBOX
RECIPIENTS = ["bob@partner.example", "erin@partner.example", "frank@client.example"]
NO_FILTER = DiscrepancyFilter()


def set_mode(mode):
    db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
    db.session.commit()


def delivery(message, email):
    return next(d for d in message.deliveries if d.recipient.email == email)


def view(d, channel, at):
    record_view(d.recipient, d, channel, read_status_mode=account_mode(), request_info=TEST_REQUEST,
                now=at)


def link_opened(d, at, *, scanner=False, signed_in=False):
    record_link_opened(d, signed_in=signed_in, request_info=TEST_REQUEST,
                       suspected_scanner=scanner, now=at)


def reported(report_filter=NO_FILTER, zone="UTC", **options):
    return [item.delivery.id for item in each_discrepancy(report_filter, zone, **options)]


def by_the_definition():
    """Deliveries for which Message Details' Status tab states a disagreement."""
    ids = set()
    for message in db.session.scalars(select(SecureMessage)):
        ids |= {r.delivery.id for r in summarise(message, {}) if r.disagreement}
    return ids


def by_the_rows():
    """The same, worked out from the raw rows: Sent, yet a MESSAGE_VIEWED exists."""
    viewed = set(db.session.scalars(select(AccessEvidence.delivery_id).where(
        AccessEvidence.kind == EvidenceKind.MESSAGE_VIEWED)))
    return {d.id for d in db.session.scalars(select(Delivery))
            if d.recipient_status is RecipientStatus.SENT and d.id in viewed}


def newest_first(ids):
    """The ids ordered as the report promises: first view newest first, then id."""
    def first_view(delivery_id):
        return min(e.occurred_at for e in db.session.get(Delivery, delivery_id).evidence
                   if e.kind is EvidenceKind.MESSAGE_VIEWED)
    return sorted(ids, key=lambda i: (first_view(i), i), reverse=True)


def assert_report_is_exact():
    db.session.expire_all()
    ids = reported()
    assert len(ids) == len(set(ids))
    assert set(ids) == by_the_definition() == by_the_rows()
    assert ids == newest_first(ids)
    page = discrepancy_page(DiscrepancyFilter(), "UTC", per_page=1000)
    assert [item.delivery.id for item in page.items] == ids
    assert page.total == len(ids)
    return ids


# -- the definition, in each read-status mode ---------------------------------------------

@pytest.mark.parametrize("mode,listed", [(CONTENT_VIEWED, False), (INBOX_SELECTION, True)])
def test_a_direct_link_view_is_a_discrepancy_only_where_it_leaves_the_status_sent(
        people, mode, listed):
    set_mode(mode)
    message, _ = send(people["alice@example.com"], RECIPIENTS)
    bob = delivery(message, "bob@partner.example")
    view(bob, DIRECT, utcnow())
    assert reported() == ([bob.id] if listed else [])
    assert_report_is_exact()
    view(bob, INBOX, utcnow())  # selecting it in the Inbox makes it Read in either mode
    assert reported() == []


def test_link_opens_without_a_view_are_not_a_discrepancy(people):
    set_mode(INBOX_SELECTION)
    message, _ = send(people["alice@example.com"], RECIPIENTS)
    for email in RECIPIENTS:
        link_opened(delivery(message, email), utcnow(), scanner=True)
        link_opened(delivery(message, email), utcnow(), signed_in=True)
    assert reported() == []


def test_a_refused_view_after_a_recall_is_not_a_view(people):
    set_mode(INBOX_SELECTION)
    message, _ = send(people["alice@example.com"], RECIPIENTS)
    bob, erin = delivery(message, "bob@partner.example"), delivery(message, "erin@partner.example")
    view(bob, DIRECT, utcnow())
    recall_messages(people["basic.admin@example.com"], [message.id], source=RecallSource.ADMIN,
                    request_info=TEST_REQUEST)
    for d in (bob, erin):
        assert not open_message(d.recipient, d, DIRECT, read_status_mode=account_mode(),
                                request_info=TEST_REQUEST).shown
    # bob saw the body before the recall and is still Sent: listed; erin never saw it.
    assert reported() == [bob.id]


# -- a random walk through both modes --------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_after_a_random_walk_through_both_modes_the_report_is_exact(people, seed):
    rng = random.Random(seed)
    set_mode(INBOX_SELECTION)
    modes_used = {INBOX_SELECTION}
    now = utcnow().replace(microsecond=0) - timedelta(days=2)
    senders = [people["alice@example.com"], people["dave@example.com"]]
    messages = []
    for n in range(5):
        to = rng.sample(RECIPIENTS, rng.randint(1, 3))
        message, _ = send(senders[n % 2], to, subject=f"Walk {seed}-{n}", now=now)
        messages.append(message)
    deliveries = [d for m in messages for d in m.deliveries]
    listed_at_some_point = set()
    for step in range(80):
        now += timedelta(minutes=rng.randint(0, 3))  # some views share a minute
        action = rng.choices(["mode", "direct", "inbox", "link", "recall"],
                             weights=[2, 6, 3, 3, 1])[0]
        d = rng.choice(deliveries)
        if action == "mode":
            mode = rng.choice([CONTENT_VIEWED, INBOX_SELECTION])
            set_mode(mode)
            modes_used.add(mode)
        elif action in ("direct", "inbox"):
            open_message(d.recipient, d, DIRECT if action == "direct" else INBOX,
                         read_status_mode=account_mode(), request_info=TEST_REQUEST, now=now)
        elif action == "link":
            link_opened(d, now, scanner=rng.random() < 0.5, signed_in=rng.random() < 0.5)
        else:
            recall_messages(d.message.sender, [d.message_id], source=RecallSource.SENDER,
                            request_info=TEST_REQUEST, now=now)
        if step % 8 == 7:
            listed_at_some_point |= set(assert_report_is_exact())
    listed_at_some_point |= set(assert_report_is_exact())
    # The walk exercised what it is meant to (else choose other seeds).
    assert listed_at_some_point
    assert modes_used == {CONTENT_VIEWED, INBOX_SELECTION}


# -- what each row carries -----------------------------------------------------------------

def test_each_row_carries_the_evidence_with_its_times(people):
    set_mode(INBOX_SELECTION)
    sent_at = utcnow().replace(microsecond=0) - timedelta(hours=3)
    message, _ = send(people["dave@example.com"], ["erin@partner.example"],
                      cc=["bob@partner.example"],
                      subject="=Settlement offer", now=sent_at)
    erin = delivery(message, "erin@partner.example")
    opens = [sent_at + timedelta(minutes=m) for m in (1, 2, 5)]
    link_opened(erin, opens[0], scanner=True)
    link_opened(erin, opens[1], scanner=True)
    link_opened(erin, opens[2], signed_in=True)
    first, second = sent_at + timedelta(minutes=6), sent_at + timedelta(minutes=30)
    view(erin, DIRECT, first)
    view(erin, DIRECT, second)

    [item] = list(each_discrepancy(NO_FILTER, "UTC"))
    assert item.delivery.id == erin.id
    assert item.disagreement.startswith("The status says Sent, but the message body was shown")
    assert [v.occurred_at for v in item.views] == [first, second]
    assert [e.suspected_scanner for e in item.link_opens] == [True, True, False]
    now = utcnow()
    row = dict(zip(CSV_HEADER, csv_row(item, now), strict=True))
    assert row == {
        "Delivery ID": erin.id, "Message ID": message.id, "Subject": "=Settlement offer",
        "From": "dave@example.com", "Recipient": "erin@partner.example",
        "Recipient status": "Sent", "Message status": "Sent",
        "Sent at (UTC)": sent_at.isoformat(), "Body first shown (UTC)": first.isoformat(),
        "First shown via": "direct_link", "Views": 2, "Link opens": 3,
        "Suspected scanner opens": 2,
        "Link opened at (UTC)": (f"{opens[0].isoformat()} (suspected scanner); "
                                 f"{opens[1].isoformat()} (suspected scanner); "
                                 f"{opens[2].isoformat()}"),
    }
    assert first.isoformat().endswith("+00:00")
    line = text_line(item, now)
    assert line.startswith(f"delivery {erin.id} · message {message.id} · \"=Settlement offer\"")
    assert f"body first shown {first.isoformat()} via direct_link" in line
    assert "2 view(s) · 3 link open(s), 2 by a suspected scanner" in line

    recall_messages(people["dave@example.com"], [message.id], source=RecallSource.SENDER,
                    request_info=TEST_REQUEST)
    [item] = list(each_discrepancy(NO_FILTER, "UTC"))
    assert dict(zip(CSV_HEADER, csv_row(item, utcnow()), strict=True))["Message status"] == "Recalled"
    assert "status Sent (message Recalled)" in text_line(item, utcnow())


# -- the date filter: the day the body was first shown, in a time zone ----------------------

def _at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def dated(people):
    """Discrepancies first shown around 15 January 2025 in New York (UTC-5 then)."""
    set_mode(INBOX_SELECTION)
    firsts = {
        "a": "2025-01-15T04:59:59",  # New York: 14 Jan 23:59:59
        "b": "2025-01-15T05:00:00",  # New York: 15 Jan 00:00
        "c": "2025-01-16T04:59:59",  # New York: 15 Jan 23:59:59
        "d": "2025-01-16T05:00:00",  # New York: 16 Jan 00:00
        "e": "2025-01-14T12:00:00",  # seen again on the 15th: first shown still the 14th
    }
    ids = {}
    for name, first in firsts.items():
        message, _ = send(people["alice@example.com"], ["bob@partner.example"], subject=name,
                          now=_at("2025-01-01T00:00:00"), expires_in=None)
        d = message.deliveries[0]
        view(d, DIRECT, _at(first))
        ids[name] = d.id
    view(db.session.get(Delivery, ids["e"]), DIRECT, _at("2025-01-15T12:00:00"))
    return ids


@pytest.mark.parametrize("start,end,zone,expected", [
    ("2025-01-15", "2025-01-15", "America/New_York", "bc"),
    ("2025-01-15", "2025-01-15", "UTC", "ab"),
    ("2025-01-15", "", "America/New_York", "bcd"),
    ("", "2025-01-15", "America/New_York", "abce"),
    ("2025-01-16", "2025-01-16", "UTC", "cd"),
    ("2025-01-14", "2025-01-16", "UTC", "abcde"),
    ("", "", "America/New_York", "abcde"),
    ("2025-01-17", "", "UTC", ""),
    ("", "2025-01-13", "UTC", ""),
    ("2025-01-15", "2025-01-15", "Pacific/Kiritimati", "abe"),  # UTC+14
    ("2025-01-15", "2025-01-15", "Not/AZone", "ab"),  # an unknown zone reads as UTC
])
def test_the_filter_takes_whole_days_of_first_showing_in_the_zone(dated, start, end, zone,
                                                                  expected):
    report_filter = DiscrepancyFilter.from_values(start, end)
    assert report_filter.errors == {}
    assert set(reported(report_filter, zone)) == {dated[name] for name in expected}
    page = discrepancy_page(report_filter, zone, per_page=2)
    assert page.total == len(expected)


@pytest.mark.parametrize("start,end,errors", [
    ("yesterday", "", {"start": "The From date is not a date (use YYYY-MM-DD)."}),
    ("", "2025-02-30", {"end": "The To date is not a date (use YYYY-MM-DD)."}),
    ("2025-01-16", "2025-01-15", {"end": "The To date must be on or after the From date."}),
    ("0001-01-01", "", {"start": "The From date must be between 1970-01-01 and 9998-12-31."}),
    ("", "9999-12-31", {"end": "The To date must be between 1970-01-01 and 9998-12-31."}),
    ("99999-01-01", "x" * 5000, {"start": "The From date is not a date (use YYYY-MM-DD).",
                                 "end": "The To date is not a date (use YYYY-MM-DD)."}),
])
def test_bad_dates_are_collected_not_raised(start, end, errors):
    assert DiscrepancyFilter.from_values(start, end).errors == errors


@pytest.mark.parametrize("start,end", [("", ""), ("  ", "\t"), (None, None)])
def test_empty_dates_mean_no_limit(start, end):
    report_filter = DiscrepancyFilter.from_values(start, end)
    assert (report_filter.start, report_filter.end, report_filter.errors) == (None, None, {})
    assert report_filter.window("UTC") == (None, None)


def test_the_extreme_days_are_allowed(dated):
    report_filter = DiscrepancyFilter.from_values("1970-01-01", "9998-12-31")
    assert report_filter.errors == {}
    assert set(reported(report_filter, "Pacific/Kiritimati")) == set(dated.values())


# -- pages and batches ---------------------------------------------------------------------

@pytest.fixture
def five(people):
    set_mode(INBOX_SELECTION)
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    ids = []
    for n in range(5):
        message, _ = send(people["alice@example.com"], ["frank@client.example"],
                          subject=f"Five {n}", now=start)
        view(message.deliveries[0], DIRECT, start + timedelta(minutes=n))
        ids.append(message.deliveries[0].id)
    return ids[::-1]  # newest first


@pytest.mark.parametrize("page,shown,items", [(1, 1, [0, 1]), (2, 2, [2, 3]), (3, 3, [4]),
                                               (4, 3, [4]), (100_000, 3, [4])])
def test_pages_newest_first_and_a_page_past_the_last_shows_the_last(five, page, shown, items):
    report_filter = DiscrepancyFilter(page=page)
    result = discrepancy_page(report_filter, "UTC", per_page=2)
    assert (result.total, result.pages, result.page, report_filter.page) == (5, 3, shown, shown)
    assert [item.delivery.id for item in result.items] == [five[i] for i in items]


def test_an_empty_report_is_one_empty_page(people):
    result = discrepancy_page(DiscrepancyFilter(page=7), "UTC", per_page=2)
    assert (result.items, result.total, result.pages, result.page) == ([], 0, 1, 1)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 500])
def test_batches_of_any_size_give_the_same_list(five, batch_size):
    assert reported(batch_size=batch_size) == five


def test_the_export_reads_the_database_in_batches(five, monkeypatch):
    """Rows are fetched `batch_size` at a time, not all at once."""
    from sqlalchemy.engine import Result

    sizes = []
    partitions = Result.partitions

    def counting(self, size=None):
        for batch in partitions(self, size):
            sizes.append(len(batch))
            yield batch

    monkeypatch.setattr(Result, "partitions", counting)
    assert reported(batch_size=2) == five
    assert sizes == [2, 2, 1]


# -- the flask command ---------------------------------------------------------------------

def run(app, *args):
    return app.test_cli_runner().invoke(args=["read-status", "discrepancies", *args])


def test_the_command_prints_the_report_as_text(app, dated):
    result = run(app)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "5 read-status discrepancies."
    listed = [int(re.match(r"delivery (\d+) · ", line).group(1)) for line in lines[:-1]]
    assert listed == reported()


def test_the_command_prints_the_report_as_csv(app, dated):
    result = run(app, "--format", "csv", "--since", "2025-01-15", "--until", "2025-01-15",
                  "--time-zone", "America/New_York")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == CSV_HEADER
    assert [int(row[0]) for row in rows[1:]] == [dated["c"], dated["b"]]
    assert rows[1][CSV_HEADER.index("Body first shown (UTC)")] == "2025-01-16T04:59:59+00:00"


def test_the_command_filters_as_the_page_does(app, dated):
    result = run(app, "--since", "2025-01-15")
    assert result.exit_code == 0, result.output
    listed = {int(n) for n in re.findall(r"^delivery (\d+) ", result.output, re.MULTILINE)}
    assert listed == {dated[name] for name in "abcd"}
    assert result.output.splitlines()[-1] == "4 read-status discrepancies."


def test_the_command_says_when_there_are_none(app, people):
    result = run(app)
    assert (result.exit_code, result.output) == (0, "No read-status discrepancies found.\n")
    result = run(app, "--format", "csv")
    assert result.exit_code == 0
    assert list(csv.reader(io.StringIO(result.output))) == [CSV_HEADER]


@pytest.mark.parametrize("args,message", [
    (["--since", "15/01/2025"], "The --since date is not a date (use YYYY-MM-DD)."),
    (["--until", "2025-13-01"], "The --until date is not a date (use YYYY-MM-DD)."),
    (["--since", "2025-01-16", "--until", "2025-01-15"],
     "The --until date must be on or after the --since date."),
    (["--time-zone", "Mars/Olympus"], "is not a known time zone"),
    (["--time-zone", "America"], "is not a known time zone"),
    (["--format", "xml"], "'xml' is not one of 'text', 'csv'"),
])
def test_the_command_refuses_bad_options(app, people, args, message):
    result = run(app, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_filter_keeps_its_days_in_links():
    report_filter = DiscrepancyFilter.from_values("2025-01-15", "2025-01-16", page=3)
    assert report_filter.as_args() == {"start": "2025-01-15", "end": "2025-01-16", "page": 3}
    assert report_filter.as_args(page=1) == {"start": "2025-01-15", "end": "2025-01-16"}
    assert DiscrepancyFilter().as_args() == {}
    assert report_filter.start == date(2025, 1, 15)
