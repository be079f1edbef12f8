"""The main screens as pictures for the README, in docs/screenshots/.

One set, from a portal of their own (SQLite, demo data made as of a fixed time)
at a fixed viewport and locale, so taking them again gives the same pictures
until a screen changes. Every step before a picture uses the pinned time too:
what a person does in the browser happens at the real time, so it comes after
the pictures that would show it.
"""
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.reading import record_link_opened, record_view
from portal.models import AccountSettings, ReadStatusMode, ViewChannel
from tests.support.factories import TEST_REQUEST, account_mode, send, user_by_email

from .helpers import fill_sign_in, sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DATA_TIME = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)  # future: nothing has expired yet
LARGEST_PNG = 400_000  # bytes: the README loads them all


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800},
            "device_scale_factor": 1, "locale": "en-GB", "timezone_id": "UTC",
            "color_scheme": "light", "reduced_motion": "reduce"}


def shoot(page, name):
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, animations="disabled", caret="hide")
    assert path.stat().st_size < LARGEST_PNG, f"{path.name} is {path.stat().st_size} bytes"


def a_message_with_a_discrepancy(server):
    """A message to Bob and Erin; Erin read it through the link while the read-status
    mode was inbox_selection, so her status stays Sent: one discrepancy."""
    with server.app.app_context():
        message, tokens = send(user_by_email("alice@example.com"),
                               ["bob@partner.example", "erin@partner.example"],
                               subject="Signed contract for review",
                               body="Hello Bob, hello Erin,\n\nthe signed contract is below. "
                                    "Please check clause 4 before Friday.\n\nKind regards,\nAlice",
                               now=DATA_TIME + timedelta(minutes=5), allow_reply=True,
                               allow_reply_all=True, allow_forward=True, allow_print=True)
        bob, erin = message.deliveries
        settings = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
        settings.read_status_mode = ReadStatusMode.INBOX_SELECTION
        db.session.commit()
        record_link_opened(erin, signed_in=False, request_info=TEST_REQUEST,
                           now=DATA_TIME + timedelta(minutes=20))
        record_view(erin.recipient, erin, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST,
                    now=DATA_TIME + timedelta(minutes=21))
        settings = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
        settings.read_status_mode = ReadStatusMode.CONTENT_VIEWED
        db.session.commit()
        ids = bob.id, tokens[bob.id]
        db.session.remove()
    return ids


def test_main_screens(page, context, demo_portal_as_of):
    server = demo_portal_as_of(DATA_TIME)
    base = server.url
    delivery_id, bob_token = a_message_with_a_discrepancy(server)

    page.goto(f"{base}/sign-in")
    shoot(page, "sign-in")

    sign_in(page, base, "full.admin@example.com")
    day = DATA_TIME.date()
    page.goto(f"{base}/admin/secure-messaging?range=custom"
              f"&start={day - timedelta(days=1)}&end={day}")
    expect(page.locator("table.admin-results tbody tr").first).to_be_visible()
    shoot(page, "admin-search")

    page.get_by_role("link", name="Signed contract for review").click()
    page.get_by_role("tab", name="Status").click()
    expect(page.locator("#panel-status")).to_contain_text("erin@partner.example")
    page.locator("#details-panel").evaluate("panel => panel.scrollIntoView()")
    shoot(page, "message-details-status")

    for box in page.locator("input[name=message_ids]:not([data-ended])").all()[:2]:
        box.check()
    page.locator("#recall-button").click()
    expect(page.get_by_role("dialog", name="Recall 2 messages?")).to_be_visible()
    shoot(page, "recall-dialog")
    page.keyboard.press("Escape")

    page.goto(f"{base}/account/audit-logs")
    expect(page.locator("#chain-status")).to_contain_text("Audit chain verified")
    shoot(page, "audit-logs")
    page.goto(f"{base}/account/read-status-discrepancies")
    expect(page.locator("table.discrepancies tbody tr")).to_have_count(1)
    shoot(page, "read-status-discrepancies")
    page.goto(f"{base}/account/settings")
    shoot(page, "settings")
    context.clear_cookies()

    sign_in(page, base, "alice@example.com")
    page.goto(f"{base}/compose")
    page.get_by_label("To", exact=True).fill("bob@partner.example, erin@partner.example")
    page.get_by_label("Subject").fill("Quarterly statement")
    page.get_by_label("Body").fill("Hello,\n\nthe figures for the quarter are below.\n\nBest,\nAlice")
    page.get_by_label("Expiry Date").fill(str(day + timedelta(days=7)))
    page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
    shoot(page, "compose")
    page.goto(f"{base}/sent")
    shoot(page, "sent")
    context.clear_cookies()

    page.goto(f"{base}/m/{bob_token}")
    fill_sign_in(page, "bob@partner.example")
    expect(page.locator(".message-body")).to_be_visible()
    shoot(page, "viewer")
    page.goto(f"{base}/inbox")
    page.locator(f"#inbox-row-{delivery_id} a").click()
    expect(page.locator("#reading-pane .message-body")).to_be_visible()
    page.locator(f"#inbox-row-{delivery_id} a").blur()
    shoot(page, "inbox")
