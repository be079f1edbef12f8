"""The hand-written floor (benchmarks/floor) shows what the portal shows and writes the
evidence the portal writes, so that what benchmarks/request_cost.py measures beside
the portal is the same work: the same rows in the same order on Inbox, Sent and the
admin search, the same message in the reading pane and the viewer, the same Message
Details, the same evidence rows and status changes, the same security headers."""
import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from benchmarks.floor import create_floor_app
from portal.extensions import db
from portal.messaging.recall import recall_messages
from portal.models import (
    AccessEvidence,
    AccountSettings,
    Delivery,
    EvidenceKind,
    ReadStatusMode,
    RecallSource,
    utcnow,
)
from tests.support.factories import TEST_REQUEST, send, user_by_email

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PANE = {"HX-Request": "true", "HX-Target": "reading-pane"}
DETAILS = {"HX-Request": "true", "HX-Target": "details-panel"}
SUBJECTS = ["Quarterly statement", "Board pack (confidential)", "Payroll changes",
            "Medical report", "Signed contract"]
HEADERS = ("Content-Security-Policy", "Referrer-Policy", "X-Content-Type-Options",
           "X-Frame-Options", "Cross-Origin-Opener-Policy", "Cache-Control")


class Rows(HTMLParser):
    """The text of every cell of every row in the page's <tbody> elements."""

    def __init__(self, html):
        super().__init__()
        self.rows, self._row, self._cell, self._in_body = [], None, None, 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body += 1
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body -= 1
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "td" and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rows_of(response):
    assert response.status_code == 200, response.status_code
    return Rows(response.get_data(as_text=True)).rows


def text_of(html):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def between(html, start, end):
    """The text from the element whose opening tag contains `start` to `end`."""
    begin = html.index(start)
    return text_of(html[html.rindex("<", 0, begin):html.index(end, begin)])


@pytest.fixture
def floor(app):
    floor_app = create_floor_app(app.config)
    yield floor_app
    floor_app.extensions["floor_store"].close()


@pytest.fixture
def sign_in(app, floor):
    """(portal client, floor client) carrying one session cookie from the real sign-in."""

    def signed_in(email):
        portal = app.test_client()
        portal.environ_base["HTTP_USER_AGENT"] = BROWSER
        from tests.conftest import AuthActions

        assert AuthActions(portal).sign_in(email).status_code == 302
        cookie = portal.get_cookie(app.config["SESSION_COOKIE_NAME"])
        other = floor.test_client()
        other.environ_base["HTTP_USER_AGENT"] = BROWSER
        other.set_cookie(cookie.key, cookie.value)
        return portal, other

    return signed_in


@pytest.fixture
def mailbag(app, people):
    """Thirty-odd messages to bob over three days (more than a page; some past the
    48-hour search), from alice and dave, with Cc, a tie in time, a recall, an expiry."""
    now = utcnow()
    with app.app_context():
        alice, dave = people["alice@example.com"], people["dave@example.com"]
        ids = []
        for i in range(32):
            sender = alice if i % 3 else dave
            to = ["bob@partner.example"] + (["erin@partner.example"] if i % 4 == 0 else [])
            cc = ["frank@client.example"] if i % 5 == 0 else []
            sent_at = now - timedelta(minutes=113 * i + 3) if i != 7 else now - timedelta(
                minutes=113 * 6 + 3)  # the same moment as the one before: a tie
            message, _ = send(sender, to, cc=cc, subject=f"{SUBJECTS[i % 5]} #{i}",
                              body=f"Body {i}", now=sent_at,
                              expires_in=timedelta(hours=5) if i == 10 else timedelta(days=7))
            ids.append(message.id)
        recall_messages(alice, [ids[4]], source=RecallSource.SENDER, reason="Wrong person",
                        request_info=TEST_REQUEST)
        db.session.remove()
    return ids


def fresh_message(app, subject="Signed contract for review", body="Hello,\nthe figures."):
    with app.app_context():
        message, tokens = send(user_by_email("alice@example.com"),
                               ["bob@partner.example", "erin@partner.example"],
                               cc=["dave@example.com"], subject=subject, body=body,
                               allow_forward=True)
        delivery = message.deliveries[0]
        token = tokens[delivery.id]
        db.session.remove()
    return delivery.id, token


def evidence_of(app, delivery_id):
    """The evidence a delivery gathered since its notification was queued, and its status."""
    with app.app_context():
        rows = db.session.scalars(select(AccessEvidence).where(
            AccessEvidence.delivery_id == delivery_id,
            AccessEvidence.kind != EvidenceKind.NOTIFICATION_SENT)
            .order_by(AccessEvidence.id)).all()
        found = [(e.kind.value, e.channel.value if e.channel else None, e.signed_in, e.user_id,
                  e.ip, e.user_agent, e.suspected_scanner, e.details) for e in rows]
        delivery = db.session.get(Delivery, delivery_id)
        status = (delivery.recipient_status.value,
                  delivery.first_read_channel.value if delivery.first_read_channel else None)
        db.session.remove()
    return found, status


def set_mode(app, mode):
    with app.app_context():
        db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
        db.session.commit()
        db.session.remove()


def test_inbox_lists_the_same_rows_unread_count_and_pages(app, mailbag, sign_in):
    portal, floor = sign_in("bob@partner.example")
    for path in ("/inbox", "/inbox?page=2"):
        portal_page, floor_page = portal.get(path), floor.get(path)
        rows = rows_of(portal_page)
        assert rows == rows_of(floor_page)
        assert len(rows) == (25 if path == "/inbox" else 7)
        for marker in ("unread-count", "pager-count"):
            html = [r.get_data(as_text=True) for r in (portal_page, floor_page)]
            assert between(html[0], marker, "</") == between(html[1], marker, "</")
    assert any("Recalled by the sender" in cell for row in rows_of(portal.get("/inbox"))
               for cell in row)


def test_sent_lists_the_same_rows(app, mailbag, sign_in):
    portal, floor = sign_in("alice@example.com")
    rows = rows_of(portal.get("/sent"))
    assert rows == rows_of(floor.get("/sent"))
    assert {row[2] for row in rows} == {"Sent", "Recalled", "Expired"}
    assert "and 1 other(s)" in " ".join(row[0] for row in rows)


@pytest.mark.parametrize("email", ["basic.admin@example.com", "readonly.admin@example.com"])
def test_admin_search_lists_the_same_rows_for_the_last_48_hours(app, mailbag, sign_in, email):
    portal, floor = sign_in(email)
    portal_page, floor_page = portal.get("/admin/secure-messaging"), floor.get(
        "/admin/secure-messaging")
    rows = rows_of(portal_page)
    assert rows == rows_of(floor_page)
    assert 0 < len(rows) < 32  # the window cut the older ones off
    html = [r.get_data(as_text=True) for r in (portal_page, floor_page)]
    assert between(html[0], "result-count", "</p>") == between(html[1], "result-count", "</p>")
    assert ('id="recall-button"' in html[0]) == ('id="recall-button"' in html[1])


@pytest.mark.parametrize("mode", list(ReadStatusMode))
def test_reading_pane_shows_the_same_message_and_writes_the_same_evidence(
        app, people, sign_in, mode):
    set_mode(app, mode)
    first, _ = fresh_message(app)
    second, _ = fresh_message(app)
    portal, floor = sign_in("bob@partner.example")
    shown = []
    for client, delivery_id in ((portal, first), (floor, second)):
        response = client.get(f"/inbox/{delivery_id}", headers=PANE)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        shown.append((between(html, 'class="message-subject"', "</h2>"),
                      between(html, 'class="details"', "</dl>"),
                      between(html, 'class="message-body"', "</div>"),
                      between(html, 'class="message-actions"', "</div>"),
                      between(html, 'id="unread-count"', "</p>"),
                      Rows(html).rows, response.headers.get("Vary")))
    assert shown[0][:4] == shown[1][:4]
    assert shown[0][2] == "Hello, the figures."
    # Each counts what is left unread after its own view: the portal's ran first.
    assert (shown[0][4], shown[1][4]) == ("1 unread", "0 unread")
    assert shown[0][5][0][1:] == shown[1][5][0][1:]  # the out-of-band row, bar its link
    assert evidence_of(app, first) == evidence_of(app, second)
    assert evidence_of(app, first)[1] == ("Read", "inbox")


@pytest.mark.parametrize("mode", list(ReadStatusMode))
def test_viewer_shows_the_same_message_and_writes_link_opened_and_viewed(
        app, people, sign_in, mode):
    set_mode(app, mode)
    first, first_token = fresh_message(app)
    second, second_token = fresh_message(app)
    portal, floor = sign_in("bob@partner.example")
    shown = []
    for client, token in ((portal, first_token), (floor, second_token)):
        response = client.get(f"/m/{token}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        shown.append((between(html, 'class="message-subject"', "</h1>"),
                      between(html, 'class="details"', "</dl>"),
                      between(html, 'class="message-body"', "</div>")))
    assert shown[0] == shown[1]
    portal_evidence, floor_evidence = evidence_of(app, first), evidence_of(app, second)
    assert portal_evidence == floor_evidence
    assert [row[0] for row in portal_evidence[0]] == ["link_opened", "message_viewed"]
    expected = ("Sent", None) if mode is ReadStatusMode.INBOX_SELECTION else (
        "Read", "direct_link")
    assert portal_evidence[1] == expected


def test_a_recalled_message_is_refused_alike(app, people, sign_in):
    delivery_ids, tokens = zip(fresh_message(app), fresh_message(app), strict=True)
    with app.app_context():
        message_ids = [db.session.get(Delivery, d).message_id for d in delivery_ids]
        recall_messages(user_by_email("alice@example.com"), message_ids,
                        source=RecallSource.SENDER, reason="Sent too soon",
                        request_info=TEST_REQUEST)
        db.session.remove()
    portal, floor = sign_in("bob@partner.example")
    notices = []
    for client, delivery_id, token in ((portal, delivery_ids[0], tokens[0]),
                                       (floor, delivery_ids[1], tokens[1])):
        pane = client.get(f"/inbox/{delivery_id}", headers=PANE).get_data(as_text=True)
        viewer = client.get(f"/m/{token}")
        assert viewer.status_code == 410
        notices.append((between(pane, 'class="ended"', "</p>"),
                        between(viewer.get_data(as_text=True), 'class="ended"', "</p>")))
    assert notices[0] == notices[1]
    assert "Recalled by the sender" in notices[0][0]
    assert evidence_of(app, delivery_ids[0]) == evidence_of(app, delivery_ids[1])


@pytest.mark.parametrize("tab", [None, "status"])
def test_message_details_say_the_same(app, mailbag, sign_in, tab):
    delivery_id, token = fresh_message(app)
    reader, _ = sign_in("bob@partner.example")
    reader.get(f"/m/{token}")
    reader.get(f"/inbox/{delivery_id}", headers=PANE)
    with app.app_context():
        message_id = db.session.get(Delivery, delivery_id).message_id
    portal, floor = sign_in("full.admin@example.com")
    shown = {}
    for message in (message_id, mailbag[4]):  # viewed twice; recalled
        path = f"/admin/secure-messaging/messages/{message}" + (f"?tab={tab}" if tab else "")
        texts = [text_of(c.get(path, headers=DETAILS).get_data(as_text=True))
                 for c in (portal, floor)]
        assert texts[0] == texts[1]
        shown[message] = texts[0]
    # Both tabs are in the fragment (one hidden): the evidence and the recall alike.
    assert "Body shown 2 time(s)" in shown[message_id]
    assert "Recall reason Wrong person" in shown[mailbag[4]]


def test_the_same_security_headers(app, people, sign_in):
    portal, floor = sign_in("bob@partner.example")
    answers = [c.get("/inbox").headers for c in (portal, floor)]
    assert [answers[0].get(h) for h in HEADERS] == [answers[1].get(h) for h in HEADERS]
    assert answers[1]["Content-Security-Policy"]


def test_signed_out_and_ended_sessions_get_no_page(app, people, sign_in, floor):
    assert floor.test_client().get("/inbox").status_code == 302
    portal, floor_client = sign_in("bob@partner.example")
    token = portal.get("/inbox").get_data(as_text=True)
    portal.post("/sign-out", data={"csrf_token": re.search(
        r'name="csrf-token" content="([^"]+)"', token).group(1)})
    assert floor_client.get("/inbox").status_code == 302
