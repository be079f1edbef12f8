"""A scanner that is a real browser: headless Chromium opening notification links.

Some mail gateways open each link in a headless browser that runs the page's
scripts ("detonation"). It follows the redirect to the sign-in or registration
page and comes back with the cookie that page set. Dozens of such visits over
several messages and recipients read nothing, sign nobody in, are all recorded
and flagged, and leave every link working for its recipient.
"""
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AccessEvidence,
    AuditCategory,
    AuditLogEntry,
    Delivery,
    EvidenceKind,
    RecipientStatus,
    UserSession,
)
from portal.web.htmx import HTMX_URL
from tests.support.databases import selected_backends
from tests.support.factories import send, user_by_email

from .conftest import serve_htmx_from, start_portal
from .helpers import fill_sign_in

REGISTERED = ["bob@partner.example", "erin@partner.example"]
NOT_REGISTERED = ["carol@partner.example", "first.timer@elsewhere.example"]
MESSAGES = 3
ROUNDS = 3  # each round a new scanner browser visits every link: 3 x 12 = 36 visits
# A person's browser, which announces no automation.
PERSON = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
NEW_PASSWORD = "a long enough password"


@pytest.fixture(scope="module", params=selected_backends())
def scanner_portal(request, tmp_path_factory, databases):
    """A portal of its own (demo accounts, no messages), so the links opened here leave
    no trace in the other journeys' portal."""
    url = (databases.fresh_url("postgresql", "scanner_browser")
           if request.param == "postgresql" else None)
    server = start_portal(tmp_path_factory, url=url)
    yield server
    server.stop()


@pytest.fixture
def links(scanner_portal):
    """(address, delivery id, link, body) for each message to each recipient."""
    result = []
    with scanner_portal.app.app_context():
        for n in range(MESSAGES):
            body = f"HEADLESS-SCANNER-BODY-{n}: the signed agreement, page {n + 1}."
            message, tokens = send(user_by_email("alice@example.com"),
                                   REGISTERED + NOT_REGISTERED, subject=f"Agreement {n}",
                                   body=body, read_receipt=True)
            result += [(d.recipient.email, d.id, f"{scanner_portal.url}/m/{tokens[d.id]}", body)
                       for d in message.deliveries]
        db.session.remove()
    return result


def browser_context(browser, htmx_file, **options):
    context = browser.new_context(**options)
    context.route(HTMX_URL, serve_htmx_from(htmx_file))
    context.set_default_timeout(10_000)
    return context


def evidence(app, delivery_id):
    with app.app_context():
        rows = db.session.execute(select(
            AccessEvidence.kind, AccessEvidence.suspected_scanner, AccessEvidence.signed_in,
            AccessEvidence.user_agent,
        ).where(AccessEvidence.delivery_id == delivery_id,
                AccessEvidence.kind != EvidenceKind.NOTIFICATION_SENT)
         .order_by(AccessEvidence.id)).all()
        db.session.remove()
    return rows


def status_of(app, delivery_id):
    with app.app_context():
        d = db.session.get(Delivery, delivery_id)
        status = (d.recipient_status, d.first_read_at is not None, d.read_receipt_sent_at)
        db.session.remove()
    return status


def test_a_headless_browser_opening_links_again_and_again_is_always_a_scanner(
        scanner_portal, links, browser, htmx_file):
    app = scanner_portal.app
    visits = {delivery_id: 0 for _, delivery_id, _, _ in links}
    scanners = []
    for _ in range(ROUNDS):
        context = browser_context(browser, htmx_file)  # Playwright's own headless agent
        scanners.append(context)
        page = context.new_page()
        assert "HeadlessChrome" in page.evaluate("navigator.userAgent")
        for address, delivery_id, link, body in links:
            page.goto(link)
            page.wait_for_load_state("load")
            visits[delivery_id] += 1
            landed = "/register/" if address in NOT_REGISTERED else "/sign-in?next="
            assert landed in page.url
            assert page.evaluate("() => typeof window.htmx") == "object"  # scripts ran
            assert body not in page.content()
        # From its second visit on it carries the cookie the sign-in page set.
        assert [c["name"] for c in context.cookies()] == ["session"]
    assert sum(visits.values()) == ROUNDS * len(links) >= 36

    for _, delivery_id, _, _ in links:
        rows = evidence(app, delivery_id)
        assert [r.kind for r in rows] == [EvidenceKind.LINK_OPENED] * visits[delivery_id]
        assert all(r.suspected_scanner and not r.signed_in for r in rows)
        assert all("HeadlessChrome" in r.user_agent for r in rows)
        assert status_of(app, delivery_id) == (RecipientStatus.SENT, False, None)

    # No session. The cookie is Flask's signed cookie with the CSRF token the sign-in
    # and registration pages give anyone (and Flask-Login's `_fresh: False`); being
    # signed in is a server-side session (a user_sessions row named by `sid` in that
    # cookie, beside `_user_id`), with a portal logon and an audit entry. The scanner
    # has none of these.
    serializer = app.session_interface.get_signing_serializer(app)
    for context in scanners:
        [cookie] = context.cookies()
        held = serializer.loads(cookie["value"])
        assert set(held) <= {"csrf_token", "_fresh"} and not held.get("_fresh")
        page = context.pages[0]
        page.goto(f"{scanner_portal.url}/inbox")
        assert "/sign-in" in page.url
        context.close()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
        assert db.session.scalar(select(func.count()).select_from(AccessEvidence).where(
            AccessEvidence.kind == EvidenceKind.PORTAL_LOGON)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditLogEntry).where(
            AuditLogEntry.category == AuditCategory.AUTHENTICATION)) == 0
        db.session.remove()

    # The same links still work for their recipients, in a person's browser.
    for address in REGISTERED + NOT_REGISTERED:
        mine = [(d, link, body) for a, d, link, body in links if a == address]
        context = browser_context(browser, htmx_file, user_agent=PERSON)
        page = context.new_page()
        page.goto(mine[0][1])
        if address in NOT_REGISTERED:
            page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
            page.get_by_label("Confirm password").fill(NEW_PASSWORD)
            page.get_by_role("button", name="Register").click()
        else:
            fill_sign_in(page, address)
        for delivery_id, link, body in mine:
            page.goto(link)
            expect(page.locator(".message-body")).to_have_text(body)
            status, read, receipt_sent_at = status_of(app, delivery_id)
            assert status is RecipientStatus.READ and read and receipt_sent_at is not None
            person = [r for r in evidence(app, delivery_id) if r.user_agent == PERSON]
            assert person and not any(r.suspected_scanner for r in person)
        context.close()
