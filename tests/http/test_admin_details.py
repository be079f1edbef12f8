"""Message Details: the Message and Status tabs an administrator opens from the search."""
import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from portal.extensions import db
from portal.messaging.reading import open_message, record_link_opened, record_view
from portal.messaging.recall import recall_messages
from portal.models import (
    AccountSettings,
    ReadStatusMode,
    RecallSource,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from tests.conftest import AuthActions
from tests.support.factories import TEST_REQUEST, account_mode, send

BODY = "BODY-DETAILS-SECRET-4417 must never reach an administrator"
BODY_MARK = "BODY-DETAILS-SECRET-4417"
ADMINS = ["readonly.admin@example.com", "basic.admin@example.com", "full.admin@example.com"]
PERMISSIONS = [("allow_reply", "Allow reply"), ("allow_reply_all", "Allow reply all"),
               ("allow_forward", "Allow forward"), ("allow_print", "Allow print"),
               ("read_receipt", "Read receipt")]
DISAGREEMENT = ("The status says Sent, but the message body was shown to this recipient "
                "via the direct link")


def details_url(message_id, tab=None):
    url = f"/admin/secure-messaging/messages/{message_id}"
    return f"{url}?tab={tab}" if tab else url


def text_of(fragment):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def pairs(fragment):
    """A definition list's terms and descriptions, as text."""
    return {text_of(dt): text_of(dd) for dt, dd in
            re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", fragment, re.DOTALL)}


def panel(html):
    """The Message Details panel alone (the full page also holds the search; an htmx
    response is the panel's content already)."""
    if 'id="details-panel"' not in html:
        return html
    start = html.index('id="details-panel"')
    return html[start:html.index("</aside>", start)]


def message_tab(html):
    part = panel(html)
    return part[part.index('id="panel-message"'):part.index('id="panel-status"')]


def sections(html):
    tab = message_tab(html)
    general = tab.split("<h3>General Information</h3>", 1)[1].split("<h3>", 1)[0]
    permissions = tab.split("<h3>Recipient Permissions</h3>", 1)[1]
    return pairs(general), pairs(permissions)


def recipients(html):
    """email -> (kind, status, evidence terms, the whole row as text) from the Status tab."""
    part = panel(html)
    part = part[part.index('id="panel-status"'):]
    rows = {}
    for row in re.split(r'<li id="recipient-\d+">', part)[1:]:
        email = text_of(re.search(r"<strong>(.*?)</strong>", row).group(1))
        kind = text_of(re.search(r'class="recipient-kind">(.*?)</span>', row).group(1))
        status = text_of(re.search(r'class="status recipient-status">(.*?)</span>', row).group(1))
        rows[email] = {"kind": kind, "status": status, "evidence": pairs(row),
                       "text": text_of(row)}
    return rows


class Roles(HTMLParser):
    """Every element carrying a role, with its attributes and (for tabs) its text."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements, self._open = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "role" in attrs:
            element = {"tag": tag, **attrs, "text": ""}
            self.elements.append(element)
            if attrs["role"] == "tab":
                self._open.append((tag, element))

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data):
        for _, element in self._open:
            element["text"] += data

    def with_role(self, role):
        return [e for e in self.elements if e["role"] == role]


def local(value, zone="UTC"):
    shown = value.astimezone(ZoneInfo(zone))
    return f"{shown:%d %b %Y %H:%M} {shown.tzname()}"


def set_mode(app, mode):
    with app.app_context():
        db.session.get(AccountSettings, 1).read_status_mode = mode
        db.session.commit()


@pytest.fixture
def make(app, people):
    """alice's message to bob and erin with frank in Cc, sent an hour ago (whole minute)."""

    def build(subject="Board pack", ago=timedelta(hours=1), expires_in=timedelta(days=7),
              **permissions):
        sent_at = utcnow().replace(second=0, microsecond=0) - ago
        with app.app_context():
            message, _ = send(people["alice@example.com"],
                              ["bob@partner.example", "erin@partner.example"],
                              cc=["frank@client.example"], subject=subject, body=BODY,
                              now=sent_at, expires_in=expires_in, **permissions)
            message_id = message.id
            db.session.remove()
        return message_id

    return build


def delivery_of(app, message_id, email):
    message = db.session.get(SecureMessage, message_id)
    return next(d for d in message.deliveries if d.recipient.email == email)


def view(app, message_id, email, channel, now=None):
    with app.app_context():
        delivery = delivery_of(app, message_id, email)
        record_view(delivery.recipient, delivery, channel, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST, now=now)
        db.session.remove()


def recall(app, people, message_id, by="basic.admin@example.com", source=RecallSource.ADMIN,
           reason="Wrong client"):
    with app.app_context():
        recall_messages(people[by], [message_id], source=source, reason=reason,
                        request_info=TEST_REQUEST)
        db.session.remove()


def try_to_open(app, message_id, email):
    with app.app_context():
        delivery = delivery_of(app, message_id, email)
        access = open_message(delivery.recipient, delivery, ViewChannel.DIRECT_LINK,
                              read_status_mode=account_mode(), request_info=TEST_REQUEST)
        assert not access.shown
        db.session.remove()


# -- the tabs ---------------------------------------------------------------------------

@pytest.mark.parametrize("email", ADMINS)
@pytest.mark.parametrize("tab,selected", [(None, "Message"), ("message", "Message"),
                                          ("status", "Status"), ("nonsense", "Message")])
def test_the_panel_has_real_aria_tabs(admin, client, make, email, tab, selected):
    message_id = make()
    admin(email)
    response = client.get(details_url(message_id, tab))
    assert response.status_code == 200
    roles = Roles(panel(response.get_data(as_text=True)))
    [tablist] = roles.with_role("tablist")
    assert tablist["aria-label"] == "Message Details"
    tabs = {" ".join(t["text"].split()): t for t in roles.with_role("tab")}
    assert list(tabs) == ["Message", "Status"]
    panels = {p["id"]: p for p in roles.with_role("tabpanel")}
    assert len(panels) == 2
    for name, tab_element in tabs.items():
        is_selected = name == selected
        assert tab_element["aria-selected"] == ("true" if is_selected else "false")
        assert tab_element["tabindex"] == ("0" if is_selected else "-1")
        controlled = panels[tab_element["aria-controls"]]
        assert controlled["aria-labelledby"] == tab_element["id"]
        assert ("hidden" in controlled) is not is_selected


# -- Message tab ------------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/London"])
def test_general_information_of_a_sent_message(app, admin, client, make, zone):
    message_id = make()
    admin(time_zone=zone)
    with app.app_context():
        message = db.session.get(SecureMessage, message_id)
        sent_at, expires_at = message.sent_at, message.expires_at
    general, _ = sections(client.get(details_url(message_id)).get_data(as_text=True))
    assert general == {
        "From": "alice@example.com",
        "To": "bob@partner.example, erin@partner.example",
        "Cc": "frank@client.example",
        "Subject": "Board pack",
        "Date/Time": local(sent_at, zone),
        "Expiry Date": local(expires_at, zone),
        "Status": "Sent",
    }


def test_a_message_without_cc_or_expiry_says_so(app, people, admin, client):
    with app.app_context():
        message, _ = send(people["dave@example.com"], ["carol@partner.example"],
                          subject="Plain", body=BODY, expires_in=None)
        message_id = message.id
    admin()
    general, _ = sections(client.get(details_url(message_id)).get_data(as_text=True))
    assert (general["From"], general["To"]) == ("dave@example.com", "carol@partner.example")
    assert general["Cc"] == "—"
    assert general["Expiry Date"] == "No expiry"
    assert general["Status"] == "Sent"


@pytest.mark.parametrize("chosen", [
    {"allow_reply": True, "allow_reply_all": False, "allow_forward": True,
     "allow_print": False, "read_receipt": True},
    {"allow_reply": False, "allow_reply_all": True, "allow_forward": False,
     "allow_print": True, "read_receipt": False},
])
def test_recipient_permissions_say_yes_or_no_for_each(admin, client, make, chosen):
    message_id = make(**chosen)
    admin()
    _, permissions = sections(client.get(details_url(message_id)).get_data(as_text=True))
    assert permissions == {label: "Yes" if chosen[key] else "No" for key, label in PERMISSIONS}


@pytest.mark.parametrize("by,source,reason,who,shown_reason", [
    ("basic.admin@example.com", RecallSource.ADMIN, "Sent to the wrong client",
     "basic.admin@example.com (administrator)", "Sent to the wrong client"),
    ("full.admin@example.com", RecallSource.ADMIN, None,
     "full.admin@example.com (administrator)", "—"),
    ("alice@example.com", RecallSource.SENDER, "Typo in the figures",
     "alice@example.com (the sender)", "Typo in the figures"),
])
def test_general_information_of_a_recalled_message(app, people, admin, client, make,
                                                   by, source, reason, who, shown_reason):
    message_id = make()
    recall(app, people, message_id, by=by, source=source, reason=reason)
    admin(time_zone="America/New_York")
    with app.app_context():
        recalled_at = db.session.get(SecureMessage, message_id).recalled_at
    general, _ = sections(client.get(details_url(message_id)).get_data(as_text=True))
    assert general["Status"] == "Recalled"
    assert general["Recalled"] == local(recalled_at, "America/New_York")
    assert general["Recalled by"] == who
    assert general["Recall reason"] == shown_reason


@pytest.mark.parametrize("state", ["sent", "expired"])
def test_no_recall_lines_for_a_message_not_recalled(admin, client, make, state):
    message_id = make(ago=timedelta(hours=5), expires_in=timedelta(hours=1)) \
        if state == "expired" else make()
    admin()
    general, _ = sections(client.get(details_url(message_id)).get_data(as_text=True))
    assert general["Status"] == state.title()
    assert not {"Recalled", "Recalled by", "Recall reason"} & set(general)


# -- Status tab -------------------------------------------------------------------------

def test_status_of_a_message_nobody_has_opened(admin, client, make):
    message_id = make()
    admin()
    rows = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))
    assert list(rows) == ["bob@partner.example", "erin@partner.example", "frank@client.example"]
    assert [r["kind"] for r in rows.values()] == ["To", "To", "Cc"]
    for row in rows.values():
        assert row["status"] == "Sent"
        assert row["evidence"]["First read"] == "—"
        assert row["evidence"]["Body shown"] == "never"
        assert row["evidence"]["Link opens"] == "none"
        assert row["evidence"]["Portal sign-ins"] == "none since sent"
        assert "Access refused" not in row["evidence"]
        assert "Read before recall" not in row["evidence"]
        assert "The status says Sent" not in row["text"]


def test_status_shows_a_notification_cancelled_by_the_recall(app, people, admin, client,
                                                           make):
    message_id = make()
    recall(app, people, message_id)
    admin()
    with app.app_context():
        recalled_at = db.session.get(SecureMessage, message_id).recalled_at
    rows = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))
    for row in rows.values():
        assert row["evidence"]["Notification"] == (
            f"cancelled {local(recalled_at)}, never sent: the secure message was recalled")


def test_status_says_nothing_of_a_cancel_for_a_notification_not_cancelled(admin, client,
                                                                          make):
    message_id = make()
    admin()
    rows = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))
    assert all("Notification" not in row["evidence"] for row in rows.values())


def test_status_of_a_read_message_with_its_evidence(app, admin, client, make):
    message_id = make()
    with app.app_context():
        bob = delivery_of(app, message_id, "bob@partner.example")
        record_link_opened(bob, signed_in=False, request_info=TEST_REQUEST,
                           suspected_scanner=True)
        erin = delivery_of(app, message_id, "erin@partner.example")
        record_link_opened(erin, signed_in=True, request_info=TEST_REQUEST)
        db.session.remove()
    AuthActions(app.test_client()).sign_in("bob@partner.example")  # a portal sign-in
    view(app, message_id, "bob@partner.example", ViewChannel.DIRECT_LINK)
    view(app, message_id, "erin@partner.example", ViewChannel.INBOX)
    view(app, message_id, "erin@partner.example", ViewChannel.DIRECT_LINK)
    with app.app_context():
        read_at = {d.recipient.email: d.first_read_at
                   for d in db.session.get(SecureMessage, message_id).deliveries}
    admin()
    rows = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))
    bob, erin, frank = (rows[e] for e in ("bob@partner.example", "erin@partner.example",
                                          "frank@client.example"))
    assert (bob["status"], erin["status"], frank["status"]) == ("Read", "Read", "Sent")
    assert bob["evidence"]["First read"] == (
        f"{local(read_at['bob@partner.example'])} via Direct link")
    assert erin["evidence"]["First read"] == f"{local(read_at['erin@partner.example'])} via Inbox"
    assert erin["evidence"]["Body shown"].startswith("2 time(s); first ")
    assert erin["evidence"]["Body shown"].endswith(" via Inbox")
    assert "(suspected link scanner)" in bob["evidence"]["Link opens"]
    assert "signed in" not in bob["evidence"]["Link opens"]
    assert "signed in" in erin["evidence"]["Link opens"]
    assert "(suspected link scanner)" not in erin["evidence"]["Link opens"]
    assert bob["evidence"]["Portal sign-ins"] not in ("", "none since sent")
    assert bob["evidence"]["Portal sign-ins"].endswith(" UTC")
    assert erin["evidence"]["Portal sign-ins"] == "none since sent"
    assert frank["evidence"]["First read"] == "—"
    for row in rows.values():
        assert "Read before recall" not in row["evidence"]


def test_status_of_a_recalled_message_says_who_read_before_the_recall(app, people, admin,
                                                                       client, make):
    message_id = make()
    view(app, message_id, "bob@partner.example", ViewChannel.DIRECT_LINK)
    recall(app, people, message_id)
    try_to_open(app, message_id, "erin@partner.example")
    admin()
    rows = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))
    assert {e: r["evidence"]["Read before recall"] for e, r in rows.items()} == {
        "bob@partner.example": "Yes", "erin@partner.example": "No",
        "frank@client.example": "No"}
    assert rows["erin@partner.example"]["evidence"]["Access refused"].endswith("(recalled)")
    assert "Access refused" not in rows["bob@partner.example"]["evidence"]
    assert rows["bob@partner.example"]["status"] == "Read"
    assert rows["erin@partner.example"]["status"] == "Sent"


def test_status_of_an_expired_message_shows_refused_access(app, admin, client, make):
    message_id = make(ago=timedelta(hours=5), expires_in=timedelta(hours=1))
    view(app, message_id, "bob@partner.example", ViewChannel.INBOX,
         now=utcnow() - timedelta(hours=4, minutes=30))
    try_to_open(app, message_id, "frank@client.example")
    admin()
    html = client.get(details_url(message_id, "status")).get_data(as_text=True)
    general, _ = sections(html)
    assert general["Status"] == "Expired"
    rows = recipients(html)
    assert rows["bob@partner.example"]["status"] == "Read"
    assert rows["bob@partner.example"]["evidence"]["First read"].endswith(" via Inbox")
    assert rows["frank@client.example"]["evidence"]["Access refused"].endswith("(expired)")
    for row in rows.values():
        assert "Read before recall" not in row["evidence"]


@pytest.mark.parametrize("mode,bob_status,says_so", [
    (ReadStatusMode.INBOX_SELECTION, "Sent", True),
    (ReadStatusMode.CONTENT_VIEWED, "Read", False),
])
def test_a_direct_link_view_in_each_read_status_mode(app, admin, client, make,
                                                     mode, bob_status, says_so):
    set_mode(app, mode)
    message_id = make()
    view(app, message_id, "bob@partner.example", ViewChannel.DIRECT_LINK)
    view(app, message_id, "erin@partner.example", ViewChannel.INBOX)
    admin()
    rows = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))
    bob = rows["bob@partner.example"]
    assert bob["status"] == bob_status
    assert (DISAGREEMENT in bob["text"]) is says_so
    assert bob["evidence"]["Body shown"].endswith(" via Direct link")
    assert rows["erin@partner.example"]["status"] == "Read"
    assert DISAGREEMENT not in rows["erin@partner.example"]["text"]


def test_in_inbox_selection_the_sentence_goes_once_the_inbox_marks_read(app, admin, client,
                                                                        make):
    set_mode(app, ReadStatusMode.INBOX_SELECTION)
    message_id = make()
    view(app, message_id, "bob@partner.example", ViewChannel.DIRECT_LINK)
    view(app, message_id, "bob@partner.example", ViewChannel.INBOX)
    admin()
    bob = recipients(client.get(details_url(message_id, "status")).get_data(as_text=True))[
        "bob@partner.example"]
    assert bob["status"] == "Read"
    assert bob["evidence"]["First read"].endswith(" via Inbox")
    assert DISAGREEMENT not in bob["text"]


# -- what the admin never sees, and odd requests ----------------------------------------

@pytest.fixture
def every_state(app, people, make):
    ids = {"sent": make("Open one"), "read": make("Read one"),
           "recalled": make("Recalled one"),
           "expired": make("Expired one", ago=timedelta(hours=5), expires_in=timedelta(hours=1))}
    view(app, ids["read"], "bob@partner.example", ViewChannel.DIRECT_LINK)
    view(app, ids["recalled"], "erin@partner.example", ViewChannel.INBOX)
    recall(app, people, ids["recalled"])
    return ids


@pytest.mark.parametrize("email", ADMINS)
def test_the_body_is_never_on_any_admin_page(app, admin, client, every_state, email):
    admin(email)
    responses = [client.get("/admin/secure-messaging"),
                 client.get("/admin/secure-messaging?range=30d&status=Recalled")]
    for message_id in every_state.values():
        for tab in (None, "status"):
            responses.append(client.get(details_url(message_id, tab)))
            responses.append(client.get(details_url(message_id, tab), headers={
                "HX-Request": "true", "HX-Target": "details-panel"}))
    for response in responses:
        assert response.status_code == 200
        assert BODY_MARK not in response.get_data(as_text=True)
    subjects = [response.get_data(as_text=True) for response in responses[2:]]
    assert all(any(s in html for s in ("Open one", "Read one", "Recalled one", "Expired one"))
               for html in subjects)


@pytest.mark.parametrize("path", ["/admin/secure-messaging/messages/987654",
                                  "/admin/secure-messaging/messages/987654?tab=status",
                                  "/admin/secure-messaging/messages/abc",
                                  "/admin/secure-messaging/messages/-1"])
def test_an_unknown_message_is_not_found(admin, client, make, path):
    make()
    admin()
    response = client.get(path)
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("tab", [None, "status"])
def test_htmx_gets_only_the_details_panel(admin, client, make, tab):
    message_id = make()
    admin()
    response = client.get(details_url(message_id, tab),
                          headers={"HX-Request": "true", "HX-Target": "details-panel"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert 'role="search"' not in html and 'id="search-results"' not in html
    assert '<h2 id="details-title">Message Details</h2>' in html
    assert 'role="tablist"' in html and "Board pack" in html
    assert "HX-Request" in response.headers["Vary"]


def test_the_full_details_page_keeps_the_search_and_marks_the_row(admin, client, make):
    message_id = make()
    other = make("Another one")
    admin()
    html = client.get(details_url(message_id)).get_data(as_text=True)
    assert "<html" in html and 'role="search"' in html
    assert f'<tr id="message-row-{message_id}" class="selected">' in html
    assert f'<tr id="message-row-{other}" >' in html or f'<tr id="message-row-{other}">' in html
    assert 'class="details-panel open"' in html


def test_the_panel_shows_a_subject_as_text_never_as_markup(admin, client, make):
    message_id = make('<script>alert("x")</script>')
    admin()
    html = client.get(details_url(message_id),
                      headers={"HX-Request": "true", "HX-Target": "details-panel"}
                      ).get_data(as_text=True)
    assert "<script>alert" not in html
    general, _ = sections(html)
    assert general["Subject"] == '<script>alert("x")</script>'
