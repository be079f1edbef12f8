"""Mail scanners opening notification links, dozens of times, at the HTTP level.

Each kind of automated fetch (HEAD, prefetch, a tool's cookieless GET, a tool
that follows the redirect and keeps the cookie it is given) visits every link
of several messages to registered and not-yet-registered recipients, again and
again. Afterwards nobody has read anything, nobody is signed in, every visit is
in the access evidence flagged as a suspected scanner, and the recipients can
still use the very same links to register or sign in and read.
"""
import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AccessEvidence,
    AuditCategory,
    AuditLogEntry,
    Delivery,
    EmailKind,
    EvidenceKind,
    OutboxEmail,
    RecipientStatus,
    User,
    UserSession,
    ViewChannel,
    utcnow,
)
from tests.conftest import AuthActions
from tests.support.factories import csrf_token_from, send

REGISTERED = ["bob@partner.example", "erin@partner.example"]
NOT_REGISTERED = ["carol@partner.example", "first.timer@elsewhere.example"]
RECIPIENTS = REGISTERED + NOT_REGISTERED
MESSAGES = 3
VISITS_PER_LINK = 3  # 3 messages x 4 recipients x 3 = 36 visits of each kind
NEW_PASSWORD = "a-long-new-password"
# The recipients themselves, afterwards: a browser no scanner below pretends to be.
PERSON = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Safari/605.1.15")
TOOL_AGENTS = [
    "python-requests/2.32.3", "curl/8.5.0", "Wget/1.21.4", "Go-http-client/1.1",
    "Java/17.0.9", "okhttp/4.12.0", "libwww-perl/6.72", "Apache-HttpClient/4.5.14 (Java/17)",
    "Proofpoint URL Defense", "Mimecast URL Protect", "Barracuda Sentinel",
    "Microsoft Office SafeLinks", "Mozilla/5.0 (compatible; bingbot/2.0)", "",
]
PREFETCH_HEADERS = [
    {"User-Agent": CHROME, "Sec-Purpose": "prefetch"},
    {"User-Agent": CHROME, "Sec-Purpose": "prefetch;prerender"},
    {"User-Agent": SAFARI, "Purpose": "prefetch"},
    {"User-Agent": FIREFOX, "X-Moz": "prefetch"},
]
HEAD_AGENTS = [CHROME, FIREFOX, "Mimecast URL Protect", "curl/8.5.0", ""]


@dataclass(frozen=True)
class Link:
    message_id: int
    address: str
    delivery_id: int
    token: str
    body: str
    subject: str

    @property
    def path(self):
        return f"/m/{self.token}"


@pytest.fixture
def links(app, people):
    """MESSAGES messages from alice and dave, each to every recipient, read receipt asked."""
    result = []
    with app.app_context():
        for n in range(MESSAGES):
            sender = people["alice@example.com" if n % 2 == 0 else "dave@example.com"]
            subject = f"Scanner simulation statement {n}"
            body = f"SCANNER-SIMULATION-BODY-{n}: account 4410-{n:04d}, balance enclosed."
            message, tokens = send(sender, RECIPIENTS, subject=subject, body=body,
                                   read_receipt=True)
            result += [Link(message.id, d.recipient.email, d.id, tokens[d.id], body, subject)
                       for d in message.deliveries]
        db.session.remove()
    assert len(result) == MESSAGES * len(RECIPIENTS)
    return result


@dataclass
class Visit:
    link: Link
    user_agent: str
    ip: str
    status: int
    html: str


class Scanners:
    """The kinds of automated fetch; each visits one link once and returns the Visit."""

    def __init__(self, app):
        self.app = app
        self.counter = itertools.count()
        self.keeping_cookies = {}  # user agent -> a client that keeps its cookies

    def _ip(self):
        return f"198.51.100.{next(self.counter) % 250 + 1}"

    def _visit(self, client, link, method, headers, follow=False):
        ip = self._ip()
        response = client.open(link.path, method=method, headers=headers,
                               environ_base={"REMOTE_ADDR": ip}, follow_redirects=follow)
        return Visit(link, headers.get("User-Agent", ""), ip, response.status_code,
                     response.get_data(as_text=True))

    def head(self, link, n):
        client = self.app.test_client()
        if n % 2:  # a browser's HEAD may carry the cookie the sign-in page gave it
            client.get("/sign-in")
        return self._visit(client, link, "HEAD", {"User-Agent": HEAD_AGENTS[n % len(HEAD_AGENTS)]})

    def prefetch(self, link, n):
        client = self.app.test_client()
        if n % 2:
            client.get("/sign-in")
        return self._visit(client, link, "GET", PREFETCH_HEADERS[n % len(PREFETCH_HEADERS)])

    def tool_get(self, link, n):
        """A cookieless GET that does not follow the redirect."""
        return self._visit(self.app.test_client(), link, "GET",
                           {"User-Agent": TOOL_AGENTS[n % len(TOOL_AGENTS)]})

    def tool_following_redirects(self, link, n):
        """A tool that follows the redirect to the sign-in or registration page and keeps
        the cookie that page sets, so from its second visit on it is not cookieless."""
        agent = TOOL_AGENTS[n % 3]
        client = self.keeping_cookies.setdefault(agent, self.app.test_client())
        return self._visit(client, link, "GET", {"User-Agent": agent}, follow=True)


KINDS = {
    # kind: expected status of every visit
    "head": 204,
    "prefetch": 204,
    "tool_get": 302,
    "tool_following_redirects": 200,
}


def evidence_of(app, delivery_id):
    with app.app_context():
        rows = db.session.scalars(select(AccessEvidence).where(
            AccessEvidence.delivery_id == delivery_id,
            AccessEvidence.kind != EvidenceKind.NOTIFICATION_SENT,
        ).order_by(AccessEvidence.id)).all()
        db.session.expunge_all()
    return rows


def delivery_facts(app, delivery_id):
    with app.app_context():
        d = db.session.get(Delivery, delivery_id)
        receipts = db.session.scalar(select(func.count()).select_from(OutboxEmail).where(
            OutboxEmail.kind == EmailKind.READ_RECEIPT, OutboxEmail.delivery_id == delivery_id))
        facts = (d.recipient_status, d.first_read_at, d.first_read_channel,
                 d.read_receipt_sent_at, receipts)
        db.session.remove()
    return facts


def sign_in_state(app):
    """Everything a sign-in or registration leaves on the server."""
    with app.app_context():
        state = {
            "user_sessions": db.session.scalar(select(func.count()).select_from(UserSession)),
            "portal_logons": db.session.scalar(select(func.count()).select_from(AccessEvidence)
                                               .where(AccessEvidence.kind
                                                      == EvidenceKind.PORTAL_LOGON)),
            "authentication_audit": db.session.scalars(select(AuditLogEntry.type).where(
                AuditLogEntry.category == AuditCategory.AUTHENTICATION)).all(),
            "registered": sorted(db.session.scalars(select(User.email).where(
                User.email.in_(NOT_REGISTERED), User.password_hash.is_not(None)))),
        }
        db.session.remove()
    return state


def cookie_session(app, client):
    """What the signed cookie session the client carries holds (empty if none)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


@pytest.mark.parametrize("kind", list(KINDS))
def test_scanners_visiting_many_times_read_nothing_sign_in_nobody_and_are_all_flagged(
        app, links, kind):
    scanners = Scanners(app)
    visit = getattr(scanners, kind)
    visits = [visit(link, n) for n, link in enumerate(links * VISITS_PER_LINK)]
    assert len(visits) == len(links) * VISITS_PER_LINK >= 36

    # The answers: nothing of any message, and no way in.
    for v in visits:
        assert v.status == KINDS[kind], (kind, v.user_agent)
        assert v.link.body not in v.html and v.link.subject not in v.html
        if kind == "tool_following_redirects":  # it landed where a signed-out person lands
            expected = "Register" if v.link.address in NOT_REGISTERED else "Sign in"
            assert f">{expected}</button>" in v.html

    # No read: every delivery is still Sent, with no view, no read receipt.
    for link in links:
        status, first_read_at, channel, receipt_at, receipts = delivery_facts(app, link.delivery_id)
        assert (status, first_read_at, channel) == (RecipientStatus.SENT, None, None)
        assert (receipt_at, receipts) == (None, 0)

    # Every visit is evidence, flagged, and nothing else is.
    for link in links:
        mine = [v for v in visits if v.link == link]
        rows = evidence_of(app, link.delivery_id)
        assert [r.kind for r in rows] == [EvidenceKind.LINK_OPENED] * len(mine)
        assert [r.suspected_scanner for r in rows] == [True] * len(mine), (
            kind, [r.user_agent for r in rows if not r.suspected_scanner])
        assert [(r.ip, r.user_agent) for r in rows] == [(v.ip, v.user_agent or None)
                                                       for v in mine]
        assert {(r.signed_in, r.user_id, r.channel) for r in rows} == {(False, None, None)}

    # No session. "Session" means two things here. The sign-in and registration pages
    # put a CSRF token in Flask's signed cookie for anyone, so a visitor that follows
    # the redirect does get a cookie (and Flask-Login marks it `_fresh: False`, "no
    # fresh sign-in"). What signs a person in is the portal's server-side session: a
    # user_sessions row whose token the cookie carries under `sid`, beside Flask-Login's
    # `_user_id`, opened with a portal logon and an audit entry. None of that may
    # exist: the cookies handed out hold a CSRF token and nothing that names anyone.
    assert sign_in_state(app) == {"user_sessions": 0, "portal_logons": 0,
                                  "authentication_audit": [], "registered": []}
    for client in scanners.keeping_cookies.values():
        cookie = cookie_session(app, client)
        assert set(cookie) <= {"csrf_token", "_fresh"} and not cookie.get("_fresh")
        assert client.get("/inbox").headers["Location"].startswith("/sign-in")

    # No token spent: each recipient uses the same links, in a browser, and reads.
    read_every_message_as_the_recipient(app, links)


def read_every_message_as_the_recipient(app, links):
    for address in RECIPIENTS:
        mine = [link for link in links if link.address == address]
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = PERSON
        first = client.get(mine[0].path)
        assert first.status_code == 302
        if address in NOT_REGISTERED:
            assert first.headers["Location"] == f"/register/{mine[0].token}"
            form = csrf_token_from(client.get(first.headers["Location"]).get_data(as_text=True))
            registered = client.post(first.headers["Location"], data={
                "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD, "csrf_token": form})
            assert registered.headers["Location"] == mine[0].path
        else:
            assert first.headers["Location"] == f"/sign-in?next={mine[0].path}"
            signed_in = AuthActions(client).sign_in(address, next_url=mine[0].path)
            assert signed_in.headers["Location"] == mine[0].path
        for link in mine:
            shown = client.get(link.path)
            assert shown.status_code == 200
            assert link.body in shown.get_data(as_text=True)
            status, _, channel, receipt_at, receipts = delivery_facts(app, link.delivery_id)
            assert (status, channel) == (RecipientStatus.READ, ViewChannel.DIRECT_LINK)
            assert receipt_at is not None and receipts == 1
            # The person's own opens are not taken for a scanner.
            opens = [r for r in evidence_of(app, link.delivery_id)
                     if r.kind is EvidenceKind.LINK_OPENED and r.user_agent == PERSON]
            assert opens and not any(r.suspected_scanner for r in opens)


HEADLESS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/131.0.0.0 Safari/537.36")


@pytest.mark.parametrize("signed_in,flagged", [(False, True), (True, False)])
def test_a_headless_browser_is_a_scanner_at_any_time_unless_someone_signed_in(
        app, people, signed_in, flagged):
    """No person reads mail in a headless browser, however late; but a session someone
    signed into with a password is a person (only HEAD and prefetch are flagged there)."""
    with app.app_context():
        message, tokens = send(people["alice@example.com"], ["bob@partner.example"],
                               now=utcnow() - timedelta(hours=3))
        [delivery] = message.deliveries
        delivery_id, token = delivery.id, tokens[delivery.id]
        db.session.remove()
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = HEADLESS
    client.get("/sign-in")  # with the cookie the sign-in page sets
    if signed_in:
        AuthActions(client).sign_in("bob@partner.example")
    client.get(f"/m/{token}")
    [opened] = [r for r in evidence_of(app, delivery_id) if r.kind is EvidenceKind.LINK_OPENED]
    assert (opened.signed_in, opened.suspected_scanner) == (signed_in, flagged)
