"""The notification link (/m/<token>) and first-time registration from it.

Opening the link is evidence, never a read by itself; a mail scanner's fetch is
recorded but flagged; a person who is not the recipient learns nothing.
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.demo.data import DEMO_PASSWORD
from portal.extensions import db
from portal.models import (
    AccessEvidence,
    AuditLogEntry,
    Delivery,
    EmailKind,
    EvidenceKind,
    OutboxEmail,
    RecipientStatus,
    User,
    ViewChannel,
    utcnow,
)
from tests.conftest import AuthActions
from tests.support.factories import csrf_token_from, send

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SUBJECT = "Signed contract for review"
BODY = "Account 7734-2219: the signed contract is below."
NEWCOMER = "new.person@elsewhere.example"
NEW_PASSWORD = "a-long-new-password"


@dataclass
class Sent:
    message_id: int
    delivery: dict  # address -> delivery id
    token: dict  # address -> link token


def send_to(app, people, recipients, **options):
    with app.app_context():
        message, tokens = send(people["alice@example.com"], recipients, subject=SUBJECT,
                               body=BODY, read_receipt=True, **options)
        sent = Sent(message.id, {d.recipient.email: d.id for d in message.deliveries},
                    {d.recipient.email: tokens[d.id] for d in message.deliveries})
        db.session.remove()
    return sent


@pytest.fixture
def sent(app, people):
    """alice's message to bob and erin (registered) and carol (not registered)."""
    return send_to(app, people, ["bob@partner.example", "erin@partner.example",
                                 "carol@partner.example"])


@dataclass
class State:
    status: RecipientStatus
    first_read_channel: ViewChannel | None
    evidence: list  # dicts, in the order recorded, notification_sent left out
    receipts: int


def state_of(app, delivery_id):
    with app.app_context():
        delivery = db.session.get(Delivery, delivery_id)
        rows = db.session.scalars(select(AccessEvidence)
                                  .where(AccessEvidence.delivery_id == delivery_id,
                                         AccessEvidence.kind != EvidenceKind.NOTIFICATION_SENT)
                                  .order_by(AccessEvidence.id)).all()
        evidence = [{"kind": e.kind, "channel": e.channel, "signed_in": e.signed_in,
                     "user_id": e.user_id, "ip": e.ip, "user_agent": e.user_agent,
                     "suspected_scanner": e.suspected_scanner, "details": e.details}
                    for e in rows]
        receipts = db.session.scalar(select(func.count()).select_from(OutboxEmail).where(
            OutboxEmail.kind == EmailKind.READ_RECEIPT, OutboxEmail.delivery_id == delivery_id))
        result = State(delivery.recipient_status, delivery.first_read_channel, evidence,
                       receipts)
        db.session.remove()
    return result


def kinds(state):
    return [e["kind"] for e in state.evidence]


def browser(app):
    """A fresh browser with no cookies yet."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    return client


def sign_in_on(client, email, password=DEMO_PASSWORD):
    assert AuthActions(client).sign_in(email, password).status_code == 302
    return client


def assert_reveals_nothing(html):
    assert SUBJECT not in html
    assert BODY not in html
    assert "alice@example.com" not in html


# --- Links that lead nowhere -------------------------------------------------

def _tampered(token):
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]


TOKEN_VARIANTS = {
    "unknown": lambda token: secrets.token_urlsafe(32),
    "tampered": _tampered,
    "truncated": lambda token: token[:-1],
    "extended": lambda token: token + "x",
    "overlong": lambda token: token * 4,
}


@pytest.mark.parametrize("signed_in_as", [None, "bob@partner.example"])
@pytest.mark.parametrize("variant", list(TOKEN_VARIANTS))
def test_an_unknown_or_tampered_link_is_not_valid_and_reveals_nothing(app, sent, variant,
                                                                      signed_in_as):
    client = browser(app)
    if signed_in_as:
        sign_in_on(client, signed_in_as)
    token = TOKEN_VARIANTS[variant](sent.token["bob@partner.example"])
    response = client.get(f"/m/{token}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Link not valid" in html
    assert_reveals_nothing(html)
    for address in ("bob@partner.example", "erin@partner.example", "carol@partner.example"):
        assert state_of(app, sent.delivery[address]).evidence == []


# --- Opening the link signed out ------------------------------------------------

def test_a_registered_recipient_signed_out_is_sent_to_sign_in_and_back(app, sent):
    token = sent.token["bob@partner.example"]
    client = browser(app)
    response = client.get(f"/m/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sign-in?next=/m/{token}"
    assert_reveals_nothing(response.get_data(as_text=True))

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'name="next" value="/m/{token}"' in page
    back = AuthActions(client).sign_in("bob@partner.example", next_url=f"/m/{token}")
    assert back.headers["Location"] == f"/m/{token}"
    shown = client.get(f"/m/{token}")
    assert shown.status_code == 200
    assert BODY in shown.get_data(as_text=True)


@pytest.mark.parametrize("address", ["carol@partner.example", NEWCOMER])
def test_an_unregistered_recipient_signed_out_is_sent_to_register(app, people, address):
    sent = send_to(app, people, [address])
    token = sent.token[address]
    response = browser(app).get(f"/m/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/register/{token}"
    assert_reveals_nothing(response.get_data(as_text=True))


def test_opening_the_link_signed_out_is_evidence_not_a_read(app, sent):
    delivery_id = sent.delivery["bob@partner.example"]
    browser(app).get(f"/m/{sent.token['bob@partner.example']}")
    state = state_of(app, delivery_id)
    assert state.status is RecipientStatus.SENT
    assert state.first_read_channel is None
    assert state.receipts == 0
    [opened] = state.evidence
    assert opened["kind"] is EvidenceKind.LINK_OPENED
    assert opened["signed_in"] is False and opened["user_id"] is None
    assert opened["ip"] == "127.0.0.1" and opened["user_agent"] == BROWSER
    assert opened["suspected_scanner"] is False
    assert opened["channel"] is None


def test_opening_the_link_signed_in_shows_the_message_and_records_both(app, sent):
    client = sign_in_on(browser(app), "bob@partner.example")
    response = client.get(f"/m/{sent.token['bob@partner.example']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert BODY in html and SUBJECT in html
    state = state_of(app, sent.delivery["bob@partner.example"])
    assert kinds(state) == [EvidenceKind.LINK_OPENED, EvidenceKind.READ_RECEIPT_SENT,
                            EvidenceKind.MESSAGE_VIEWED]
    opened, _, viewed = state.evidence
    assert opened["signed_in"] is True and opened["suspected_scanner"] is False
    assert viewed["channel"] is ViewChannel.DIRECT_LINK and viewed["user_agent"] == BROWSER
    assert state.status is RecipientStatus.READ
    assert state.first_read_channel is ViewChannel.DIRECT_LINK
    assert state.receipts == 1


# --- Fetches that are not a person -------------------------------------------------

SCANNER_FETCHES = [
    # id, method, headers, signed in as the recipient, expected status
    ("head-signed-out", "HEAD", {"User-Agent": BROWSER}, False, 204),
    ("head-signed-in", "HEAD", {"User-Agent": BROWSER}, True, 204),
    ("sec-purpose-prefetch-signed-out", "GET", {"User-Agent": BROWSER,
                                                "Sec-Purpose": "prefetch"}, False, 204),
    ("sec-purpose-prefetch-signed-in", "GET", {"User-Agent": BROWSER,
                                               "Sec-Purpose": "prefetch;prerender"}, True, 204),
    ("purpose-prefetch-signed-in", "GET", {"User-Agent": BROWSER, "Purpose": "prefetch"},
     True, 204),
    ("python-requests-no-cookies", "GET", {"User-Agent": "python-requests/2.31"}, False, 302),
    ("curl-no-cookies", "GET", {"User-Agent": "curl/8.5.0"}, False, 302),
    ("gateway-no-cookies", "GET", {"User-Agent": "Mimecast URL Protect"}, False, 302),
    ("blank-agent-no-cookies", "GET", {"User-Agent": ""}, False, 302),
]


@pytest.mark.parametrize("method,headers,signed_in,expected_status",
                         [pytest.param(*case[1:], id=case[0]) for case in SCANNER_FETCHES])
def test_an_automated_fetch_is_flagged_and_never_a_view(app, sent, method, headers, signed_in,
                                                       expected_status):
    client = app.test_client()
    if signed_in:
        sign_in_on(client, "bob@partner.example")
    response = client.open(f"/m/{sent.token['bob@partner.example']}", method=method,
                           headers=headers)
    assert response.status_code == expected_status
    if expected_status == 204:
        assert response.get_data() == b""
    assert BODY not in response.get_data(as_text=True)

    state = state_of(app, sent.delivery["bob@partner.example"])
    [opened] = state.evidence  # no view, no receipt
    assert opened["kind"] is EvidenceKind.LINK_OPENED
    assert opened["suspected_scanner"] is True
    assert opened["signed_in"] is signed_in
    assert opened["user_agent"] == (headers["User-Agent"] or None)
    assert state.status is RecipientStatus.SENT and state.first_read_channel is None
    assert state.receipts == 0


def _with_cookies_signed_out(app):
    client = browser(app)
    client.get("/sign-in")  # the session cookie a browser would carry
    assert client.get_cookie("session") is not None
    return client


@pytest.mark.parametrize("who", ["browser-no-cookies", "browser-with-cookies",
                                 "browser-signed-in"])
def test_a_person_in_a_browser_is_not_taken_for_a_scanner(app, sent, who):
    client = {"browser-no-cookies": lambda: browser(app),
              "browser-with-cookies": lambda: _with_cookies_signed_out(app),
              "browser-signed-in": lambda: sign_in_on(browser(app), "bob@partner.example")}[who]()
    client.get(f"/m/{sent.token['bob@partner.example']}")
    opened = state_of(app, sent.delivery["bob@partner.example"]).evidence[0]
    assert opened["kind"] is EvidenceKind.LINK_OPENED
    assert opened["suspected_scanner"] is False


def test_a_tool_agent_long_after_sending_is_not_flagged(app, people):
    sent = send_to(app, people, ["bob@partner.example"], now=utcnow() - timedelta(minutes=10))
    app.test_client().get(f"/m/{sent.token['bob@partner.example']}",
                          headers={"User-Agent": "python-requests/2.31"})
    [opened] = state_of(app, sent.delivery["bob@partner.example"]).evidence
    assert opened["suspected_scanner"] is False


# --- Somebody else's link -------------------------------------------------------

@pytest.mark.parametrize("intruder", ["erin@partner.example", "alice@example.com",
                                      "frank@client.example"])
def test_another_persons_link_is_not_found_and_records_no_view(app, sent, intruder):
    client = sign_in_on(browser(app), intruder)
    response = client.get(f"/m/{sent.token['bob@partner.example']}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Link not valid" in html
    assert BODY not in html and SUBJECT not in html

    bob = state_of(app, sent.delivery["bob@partner.example"])
    [opened] = bob.evidence
    assert opened["kind"] is EvidenceKind.LINK_OPENED
    assert opened["signed_in"] is False and opened["user_id"] is None
    assert bob.status is RecipientStatus.SENT and bob.receipts == 0
    erin = state_of(app, sent.delivery["erin@partner.example"])
    assert erin.evidence == [] and erin.status is RecipientStatus.SENT


def test_a_head_request_on_another_persons_link_shows_nothing(app, sent):
    client = sign_in_on(browser(app), "erin@partner.example")
    response = client.head(f"/m/{sent.token['bob@partner.example']}")
    assert response.get_data() == b""
    assert kinds(state_of(app, sent.delivery["bob@partner.example"])) == [
        EvidenceKind.LINK_OPENED]


# --- Registration -----------------------------------------------------------------

def registered(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        facts = {"password_hash": user.password_hash, "registered_at": user.registered_at,
                 "sessions": user.sessions.count(),
                 "audit": db.session.scalars(select(AuditLogEntry.type).where(
                     AuditLogEntry.actor_id == user.id)).all()}
        db.session.remove()
    return facts


def test_the_register_page_has_the_labelled_fields(app, sent):
    response = browser(app).get(f"/register/{sent.token['carol@partner.example']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<label for="password">Password</label>' in html
    assert '<label for="confirm_password">Confirm password</label>' in html
    assert ">Register</button>" in html
    assert "carol@partner.example" in html
    assert BODY not in html


@pytest.mark.parametrize("password,confirmation,error_field,error", [
    ("", "", "password", "Choose a password of at least 12 characters."),
    ("elevenchars", "elevenchars", "password", "Choose a password of at least 12 characters."),
    ("a-long-new-password", "a-long-new-passwort", "confirm_password",
     "The two passwords do not match."),
    ("a-long-new-password", "", "confirm_password", "The two passwords do not match."),
])
def test_a_short_or_mismatched_password_is_refused_inline_and_nothing_saved(
        app, sent, password, confirmation, error_field, error):
    client = browser(app)
    path = f"/register/{sent.token['carol@partner.example']}"
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"password": password, "confirm_password": confirmation,
                                       "csrf_token": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{error_field}-error">{error}</p>' in html
    assert BODY not in html
    assert registered(app, "carol@partner.example") == {
        "password_hash": None, "registered_at": None, "sessions": 0, "audit": []}
    assert client.get("/inbox").status_code == 302  # still signed out


@pytest.mark.parametrize("address,password", [
    ("carol@partner.example", NEW_PASSWORD),
    ("carol@partner.example", "twelve-chars"),  # exactly the minimum
    (NEWCOMER, NEW_PASSWORD),
])
def test_registering_signs_in_and_opens_the_message(app, people, address, password):
    sent = send_to(app, people, [address])
    link = f"/m/{sent.token[address]}"
    client = browser(app)
    path = f"/register/{sent.token[address]}"
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"password": password, "confirm_password": password,
                                       "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == link

    shown = client.get(link)
    assert shown.status_code == 200
    assert BODY in shown.get_data(as_text=True)
    state = state_of(app, sent.delivery[address])
    viewed = [e for e in state.evidence if e["kind"] is EvidenceKind.MESSAGE_VIEWED]
    assert [e["channel"] for e in viewed] == [ViewChannel.DIRECT_LINK]
    assert state.first_read_channel is ViewChannel.DIRECT_LINK
    assert state.status is RecipientStatus.READ

    facts = registered(app, address)
    assert facts["password_hash"] is not None and facts["registered_at"] is not None
    assert facts["audit"] == ["Authentication - Registered"]

    # From now on the new password signs them in like anybody else.
    AuthActions(client).sign_out()
    assert client.get(link).headers["Location"] == f"/sign-in?next={link}"
    sign_in_on(client, address, password)
    assert BODY in client.get(link).get_data(as_text=True)


def test_an_already_registered_recipient_is_sent_to_sign_in(app, sent):
    token = sent.token["bob@partner.example"]
    client = browser(app)
    response = client.get(f"/register/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sign-in?next=/m/{token}"

    # Posting a password there does not replace theirs.
    csrf = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    posted = client.post(f"/register/{token}", data={
        "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": csrf})
    assert posted.status_code == 302
    assert posted.headers["Location"] == f"/sign-in?next=/m/{token}"
    sign_in_on(browser(app), "bob@partner.example")  # the old password still works
    assert "Authentication - Registered" not in registered(app, "bob@partner.example")["audit"]


def test_registration_without_a_csrf_token_is_refused_and_nothing_saved(app, sent):
    client = browser(app)
    path = f"/register/{sent.token['carol@partner.example']}"
    client.get(path)
    response = client.post(path, data={"password": NEW_PASSWORD,
                                       "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert registered(app, "carol@partner.example") == {
        "password_hash": None, "registered_at": None, "sessions": 0, "audit": []}
    assert client.get(f"/m/{sent.token['carol@partner.example']}").headers["Location"] == (
        f"/register/{sent.token['carol@partner.example']}")


def test_someone_signed_in_cannot_register_another_persons_link(app, sent):
    client = sign_in_on(browser(app), "erin@partner.example")
    path = f"/register/{sent.token['carol@partner.example']}"
    assert client.get(path).status_code == 404
    csrf = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    response = client.post(path, data={"password": NEW_PASSWORD,
                                       "confirm_password": NEW_PASSWORD, "csrf_token": csrf})
    assert response.status_code == 404
    assert registered(app, "carol@partner.example")["password_hash"] is None


def test_register_with_an_unknown_token_is_not_valid(app, sent):
    response = browser(app).get(f"/register/{secrets.token_urlsafe(32)}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Link not valid" in html
    assert "carol@partner.example" not in html
