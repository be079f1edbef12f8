"""Reading on the recipient side: status from evidence in both read-status modes,
recall and expiry as the recipient meets them, and the Inbox with its reading pane."""
import re
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import permutations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.recall import recall_messages
from portal.models import (
    AccessEvidence,
    AccountSettings,
    Delivery,
    EmailKind,
    EvidenceKind,
    OutboxEmail,
    ReadStatusMode,
    RecallSource,
    RecipientStatus,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from tests.support.factories import TEST_REQUEST, send, user_by_email

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SUBJECT = "Board pack (confidential)"
BODY = "Account 7734-2219: the board pack figures."
REASON = "Sent to the wrong person"
HTMX = {"HX-Request": "true", "HX-Target": "reading-pane"}
MODES = [ReadStatusMode.CONTENT_VIEWED, ReadStatusMode.INBOX_SELECTION]
OBSERVED = (EvidenceKind.LINK_OPENED, EvidenceKind.MESSAGE_VIEWED, EvidenceKind.ACCESS_REFUSED)


def set_mode(app, mode):
    with app.app_context():
        db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
        db.session.commit()
        db.session.remove()


def browser(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    return client


@dataclass
class Sent:
    message_id: int
    delivery_id: int  # the first recipient's
    token: str
    others: dict = field(default_factory=dict)  # address -> delivery id


def send_message(app, people, to=("bob@partner.example",), **options):
    options = {"subject": SUBJECT, "body": BODY, **options}
    with app.app_context():
        message, tokens = send(people["alice@example.com"], list(to), **options)
        first = message.deliveries[0]
        sent = Sent(message.id, first.id, tokens[first.id],
                    {d.recipient.email: d.id for d in message.deliveries})
        db.session.remove()
    return sent


def recall(app, message_id, source=RecallSource.SENDER, reason=REASON):
    actor = {RecallSource.SENDER: "alice@example.com",
             RecallSource.ADMIN: "full.admin@example.com"}[source]
    with app.app_context():
        recall_messages(user_by_email(actor), [message_id], source=source, reason=reason,
                        request_info=TEST_REQUEST)
        recalled_at = db.session.get(SecureMessage, message_id).recalled_at
        db.session.remove()
    assert recalled_at is not None
    return recalled_at


def expire(app, message_id):
    with app.app_context():
        message = db.session.get(SecureMessage, message_id)
        message.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()


@dataclass
class Snapshot:
    status: RecipientStatus
    first_read_channel: ViewChannel | None
    evidence: list  # (kind, channel, signed_in), link/view/refusal only, in order
    refusal_reasons: list
    receipts: list  # (to, subject) of READ_RECEIPT emails about this delivery
    flagged: int  # evidence taken for a mail scanner's fetch


def snapshot(app, delivery_id):
    with app.app_context():
        delivery = db.session.get(Delivery, delivery_id)
        rows = db.session.scalars(select(AccessEvidence).where(
            AccessEvidence.delivery_id == delivery_id, AccessEvidence.kind.in_(OBSERVED))
            .order_by(AccessEvidence.id)).all()
        receipts = db.session.execute(select(OutboxEmail.to_address, OutboxEmail.subject).where(
            OutboxEmail.kind == EmailKind.READ_RECEIPT, OutboxEmail.delivery_id == delivery_id)
        ).all()
        result = Snapshot(
            delivery.recipient_status, delivery.first_read_channel,
            [(e.kind, e.channel, e.signed_in) for e in rows],
            [e.details.get("reason") for e in rows if e.kind is EvidenceKind.ACCESS_REFUSED],
            [tuple(r) for r in receipts], sum(e.suspected_scanner for e in rows))
        db.session.remove()
    return result


def inbox_row_class(html, delivery_id):
    match = re.search(rf'<tr id="inbox-row-{delivery_id}" class="([^"]*)"', html)
    assert match, f"no Inbox row for delivery {delivery_id}"
    return match.group(1).split()[0]


def unread_text(html):
    match = re.search(r'id="unread-count"[^>]*>(\d+ unread)<', html)
    assert match, "no unread count"
    return match.group(1)


# --- Read status from evidence, every order of the steps, both modes --------------

@dataclass
class Expected:
    """What the portal should hold after each step, built up step by step."""
    mode: ReadStatusMode
    signed_in: bool = False
    ended: str | None = None  # "recalled" | "expired"
    status: RecipientStatus = RecipientStatus.SENT
    first_read_channel: ViewChannel | None = None
    evidence: list = field(default_factory=list)
    refusal_reasons: list = field(default_factory=list)
    shown: bool = False  # the body has been shown at least once

    def viewed(self, channel):
        self.evidence.append((EvidenceKind.MESSAGE_VIEWED, channel, True))
        self.shown = True
        counts = self.mode is ReadStatusMode.CONTENT_VIEWED or channel is ViewChannel.INBOX
        if self.status is RecipientStatus.SENT and counts:
            self.status = RecipientStatus.READ
            self.first_read_channel = channel

    def refused(self, channel):
        self.evidence.append((EvidenceKind.ACCESS_REFUSED, channel, True))
        self.refusal_reasons.append(self.ended)


def ended_notice(expected):
    return "Recalled by the sender on" if expected.ended == "recalled" else "Expired on"


def take_step(step, app, client, auth, sent, expected):
    link = f"/m/{sent.token}"
    if step == "link_open":  # the recipient's click, on a device where they are signed out
        response = browser(app).get(link)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/sign-in?next={link}"
        expected.evidence.append((EvidenceKind.LINK_OPENED, None, False))
    elif step == "sign_in":
        assert auth.sign_in("bob@partner.example").status_code == 302
        expected.signed_in = True
    elif step == "direct_view":
        response = client.get(link)
        html = response.get_data(as_text=True)
        if not expected.signed_in:
            assert response.status_code == 302
            assert response.headers["Location"] == f"/sign-in?next={link}"
            expected.evidence.append((EvidenceKind.LINK_OPENED, None, False))
        elif expected.ended:
            assert response.status_code == 410
            assert ended_notice(expected) in html and BODY not in html
            expected.evidence.append((EvidenceKind.LINK_OPENED, None, True))
            expected.refused(ViewChannel.DIRECT_LINK)
        else:
            assert response.status_code == 200
            assert BODY in html
            expected.evidence.append((EvidenceKind.LINK_OPENED, None, True))
            expected.viewed(ViewChannel.DIRECT_LINK)
    elif step == "inbox_view":
        response = client.get(f"/inbox/{sent.delivery_id}")
        html = response.get_data(as_text=True)
        if not expected.signed_in:
            assert response.status_code == 302
            assert response.headers["Location"] == f"/sign-in?next=/inbox/{sent.delivery_id}"
        elif expected.ended:
            assert response.status_code == 200
            assert ended_notice(expected) in html and BODY not in html
            expected.refused(ViewChannel.INBOX)
        else:
            assert response.status_code == 200
            assert BODY in html
            expected.viewed(ViewChannel.INBOX)
    elif step == "recall":
        recall(app, sent.message_id)
        expected.ended = "recalled"
    elif step == "expire":
        expire(app, sent.message_id)
        expected.ended = "expired"
    else:
        raise AssertionError(step)


def _walks():
    for m, mode in enumerate(MODES):
        # Signed in first; then the link opened elsewhere, both views and the end, in
        # every order. The end is a recall or the expiry, alternately, so that each
        # order meets both ends across the two modes (and each mode meets both).
        orders = permutations(("link_open", "direct_view", "inbox_view", "end"))
        for n, order in enumerate(orders):
            end = ("recall", "expire")[(n + m) % 2]
            steps = ("sign_in", *(end if step == "end" else step for step in order))
            yield pytest.param(mode, steps, id=f"{mode.value}:{'>'.join(steps)}")
        # Signing in at every point among the views (before it, they lead to sign-in).
        for steps in permutations(("sign_in", "direct_view", "inbox_view")):
            yield pytest.param(mode, steps, id=f"{mode.value}:{'>'.join(steps)}")


@pytest.mark.parametrize("mode,steps", list(_walks()))
def test_read_status_follows_the_evidence_in_every_order(app, people, client, auth, mode,
                                                          steps):
    set_mode(app, mode)
    sent = send_message(app, people, read_receipt=True)
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    expected = Expected(mode)
    for number, step in enumerate(steps, 1):
        take_step(step, app, client, auth, sent, expected)
        where = f"after step {number} ({step})"
        actual = snapshot(app, sent.delivery_id)
        assert actual.status is expected.status, where
        assert actual.first_read_channel is expected.first_read_channel, where
        assert actual.evidence == expected.evidence, where
        assert actual.refusal_reasons == expected.refusal_reasons, where
        assert actual.flagged == 0, where  # a person in a browser, every time
        # One read receipt, to the sender, from the first view by any channel.
        assert actual.receipts == ([("alice@example.com", f"Read: {SUBJECT}")]
                                   if expected.shown else []), where
    if expected.signed_in:
        row = inbox_row_class(client.get("/inbox").get_data(as_text=True), sent.delivery_id)
        assert row == ("ended" if expected.ended else
                       "read" if expected.status is RecipientStatus.READ else "unread")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["direct", "inbox"])
def test_no_read_receipt_without_the_senders_request(app, people, client, auth, mode,
                                                     path):
    set_mode(app, mode)
    sent = send_message(app, people, read_receipt=False)
    auth.sign_in("bob@partner.example")
    url = f"/m/{sent.token}" if path == "direct" else f"/inbox/{sent.delivery_id}"
    assert BODY in client.get(url).get_data(as_text=True)
    assert BODY in client.get(url).get_data(as_text=True)
    state = snapshot(app, sent.delivery_id)
    assert [kind for kind, _, _ in state.evidence].count(EvidenceKind.MESSAGE_VIEWED) == 2
    assert state.receipts == []


def test_in_inbox_selection_a_direct_view_leaves_the_message_bold(app, people, client,
                                                                  auth):
    set_mode(app, ReadStatusMode.INBOX_SELECTION)
    sent = send_message(app, people)
    auth.sign_in("bob@partner.example")
    assert BODY in client.get(f"/m/{sent.token}").get_data(as_text=True)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox_row_class(inbox, sent.delivery_id) == "unread"
    assert unread_text(inbox) == "1 unread"
    assert f"{SUBJECT}</a> <span class=\"visually-hidden\">(unread)</span>" in inbox
    state = snapshot(app, sent.delivery_id)
    assert state.status is RecipientStatus.SENT
    assert (EvidenceKind.MESSAGE_VIEWED, ViewChannel.DIRECT_LINK, True) in state.evidence

    selected = client.get(f"/inbox/{sent.delivery_id}", headers=HTMX).get_data(as_text=True)
    assert unread_text(selected) == "0 unread"
    assert snapshot(app, sent.delivery_id).status is RecipientStatus.READ
    after = client.get("/inbox").get_data(as_text=True)
    assert inbox_row_class(after, sent.delivery_id) == "read"
    assert unread_text(after) == "0 unread"


def test_in_content_viewed_a_direct_view_makes_the_row_read(app, people, client, auth):
    set_mode(app, ReadStatusMode.CONTENT_VIEWED)
    sent = send_message(app, people)
    auth.sign_in("bob@partner.example")
    client.get(f"/m/{sent.token}")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox_row_class(inbox, sent.delivery_id) == "read"
    assert unread_text(inbox) == "0 unread"


# --- Recall and expiry, as the recipient meets them --------------------------------

def _in_utc(moment):
    return f"{moment:%d %b %Y %H:%M} UTC"


@pytest.mark.parametrize("source,reason,notice", [
    (RecallSource.SENDER, REASON, "Recalled by the sender on"),
    (RecallSource.SENDER, None, "Recalled by the sender on"),
    (RecallSource.ADMIN, "Compliance request", "Recalled by an administrator on"),
    (RecallSource.ADMIN, None, "Recalled by an administrator on"),
])
def test_a_recalled_message_shows_the_notice_never_the_body(app, people, client, auth,
                                                           source, reason, notice):
    sent = send_message(app, people)
    recalled_at = recall(app, sent.message_id, source=source, reason=reason)
    auth.sign_in("bob@partner.example")
    expected_notice = f"{notice} {_in_utc(recalled_at)}."

    direct = client.get(f"/m/{sent.token}")
    assert direct.status_code == 410
    pages = [direct.get_data(as_text=True)]
    pane = client.get(f"/inbox/{sent.delivery_id}")
    fragment = client.get(f"/inbox/{sent.delivery_id}", headers=HTMX)
    pages += [pane.get_data(as_text=True), fragment.get_data(as_text=True)]
    for html in pages:
        assert expected_notice in html
        assert BODY not in html
        assert (f"Reason: {reason}" in html) is bool(reason)

    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox_row_class(inbox, sent.delivery_id) == "ended"
    row = inbox.split(f'id="inbox-row-{sent.delivery_id}"', 1)[1].split("</tr>", 1)[0]
    assert expected_notice in row
    assert unread_text(inbox) == "0 unread"

    state = snapshot(app, sent.delivery_id)
    refusals = [(kind, channel) for kind, channel, _ in state.evidence
                if kind is EvidenceKind.ACCESS_REFUSED]
    assert refusals == [(EvidenceKind.ACCESS_REFUSED, ViewChannel.DIRECT_LINK),
                        (EvidenceKind.ACCESS_REFUSED, ViewChannel.INBOX),
                        (EvidenceKind.ACCESS_REFUSED, ViewChannel.INBOX)]
    assert state.refusal_reasons == ["recalled"] * 3
    assert EvidenceKind.MESSAGE_VIEWED not in [kind for kind, _, _ in state.evidence]
    assert state.status is RecipientStatus.SENT


def test_an_expired_message_shows_when_it_expired_never_the_body(app, people, client, auth):
    sent_at = utcnow() - timedelta(days=2)
    sent = send_message(app, people, now=sent_at, expires_in=timedelta(days=1))
    auth.sign_in("bob@partner.example")
    expected_notice = f"Expired on {_in_utc(sent_at + timedelta(days=1))}."

    direct = client.get(f"/m/{sent.token}")
    assert direct.status_code == 410
    pane = client.get(f"/inbox/{sent.delivery_id}")
    for html in (direct.get_data(as_text=True), pane.get_data(as_text=True)):
        assert expected_notice in html
        assert BODY not in html
    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox_row_class(inbox, sent.delivery_id) == "ended"
    assert expected_notice in inbox
    state = snapshot(app, sent.delivery_id)
    assert state.refusal_reasons == ["expired", "expired"]
    assert [c for k, c, _ in state.evidence if k is EvidenceKind.ACCESS_REFUSED] == [
        ViewChannel.DIRECT_LINK, ViewChannel.INBOX]
    assert state.status is RecipientStatus.SENT and state.receipts == []


def test_a_message_read_before_the_recall_stays_read_but_is_closed(app, people, client,
                                                                   auth):
    sent = send_message(app, people, read_receipt=True)
    auth.sign_in("bob@partner.example")
    assert BODY in client.get(f"/inbox/{sent.delivery_id}").get_data(as_text=True)
    recall(app, sent.message_id)
    assert client.get(f"/m/{sent.token}").status_code == 410
    assert BODY not in client.get(f"/inbox/{sent.delivery_id}").get_data(as_text=True)
    state = snapshot(app, sent.delivery_id)
    assert state.status is RecipientStatus.READ
    assert state.first_read_channel is ViewChannel.INBOX
    assert len(state.receipts) == 1


@pytest.mark.parametrize("which", ["viewer", "viewer-ended", "inbox", "inbox-message",
                                   "inbox-fragment", "inbox-message-ended"])
def test_message_pages_are_never_cached(app, people, client, auth, which):
    sent = send_message(app, people)
    if which.endswith("-ended"):
        recall(app, sent.message_id)
    auth.sign_in("bob@partner.example")
    path, headers = {
        "viewer": (f"/m/{sent.token}", {}),
        "viewer-ended": (f"/m/{sent.token}", {}),
        "inbox": ("/inbox", {}),
        "inbox-message": (f"/inbox/{sent.delivery_id}", {}),
        "inbox-fragment": (f"/inbox/{sent.delivery_id}", HTMX),
        "inbox-message-ended": (f"/inbox/{sent.delivery_id}", {}),
    }[which]
    response = client.get(path, headers=headers)
    assert response.status_code in (200, 410)
    assert "no-store" in response.headers["Cache-Control"]


# --- The Inbox ----------------------------------------------------------------------

def test_the_inbox_lists_newest_first_with_the_unread_count(app, people, client, auth):
    now = utcnow()
    oldest = send_message(app, people, subject="Oldest one", now=now - timedelta(hours=3))
    middle = send_message(app, people, subject="Middle one", now=now - timedelta(hours=2))
    newest = send_message(app, people, subject="Newest one", now=now - timedelta(hours=1))
    send_message(app, people, to=["erin@partner.example"], subject="For Erin only")
    auth.sign_in("bob@partner.example")

    inbox = client.get("/inbox").get_data(as_text=True)
    assert inbox.index("Newest one") < inbox.index("Middle one") < inbox.index("Oldest one")
    assert "For Erin only" not in inbox
    assert unread_text(inbox) == "3 unread"

    client.get(f"/inbox/{newest.delivery_id}")
    recall(app, middle.message_id)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert unread_text(inbox) == "1 unread"
    assert [inbox_row_class(inbox, s.delivery_id) for s in (newest, middle, oldest)] == [
        "read", "ended", "unread"]


def test_the_inbox_is_paginated(app, people, client, auth):
    app.config["PAGE_SIZE"] = 2
    now = utcnow()
    for n in range(5):
        send_message(app, people, subject=f"Number {n}", now=now - timedelta(minutes=n))
    auth.sign_in("bob@partner.example")
    first = client.get("/inbox").get_data(as_text=True)
    assert "Number 0" in first and "Number 1" in first and "Number 2" not in first
    assert "Page 1 of 3 · 5 in all" in first
    assert unread_text(first) == "5 unread"  # the count is over every page
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert "Number 2" in second and "Number 3" in second
    assert "Number 1" not in second and "Number 4" not in second
    third = client.get("/inbox?page=3").get_data(as_text=True)
    assert "Number 4" in third and "Number 0" not in third


def test_selecting_with_htmx_returns_the_reading_pane_and_out_of_band_updates(app, people,
                                                                           client, auth):
    sent = send_message(app, people)
    send_message(app, people, subject="Still unread")
    auth.sign_in("bob@partner.example")
    response = client.get(f"/inbox/{sent.delivery_id}", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert BODY in html
    assert re.search(rf'<tr id="inbox-row-{sent.delivery_id}" class="read[^"]*"'
                     r' hx-swap-oob="true">', html)
    assert re.search(r'<p [^>]*id="unread-count"[^>]*hx-swap-oob="true">1 unread</p>', html)
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"},
                                     {"HX-Request": "true", "HX-Boosted": "true"}])
def test_selecting_without_the_pane_target_returns_the_whole_page(app, people, client, auth,
                                                                  headers):
    sent = send_message(app, people)
    auth.sign_in("bob@partner.example")
    response = client.get(f"/inbox/{sent.delivery_id}", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" in html and "<h1>Inbox</h1>" in html
    assert BODY in html
    assert 'hx-swap-oob' not in html
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_another_recipients_message_is_not_found_in_the_inbox(app, people, client, auth,
                                                              headers):
    sent = send_message(app, people, to=["bob@partner.example", "erin@partner.example"])
    erin_delivery = sent.others["erin@partner.example"]
    auth.sign_in("bob@partner.example")
    response = client.get(f"/inbox/{erin_delivery}", headers=headers)
    assert response.status_code == 404
    assert BODY not in response.get_data(as_text=True)
    assert client.get("/inbox/999999").status_code == 404
    erin = snapshot(app, erin_delivery)
    assert erin.evidence == [] and erin.status is RecipientStatus.SENT
