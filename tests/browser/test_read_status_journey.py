"""The source document's comment, step by step, in both read-status modes.

inbox_selection reproduces what the comment reports: reading through the
notification link leaves the status Sent and the Inbox row bold, until the
message is selected in the Inbox. content_viewed (the default) is correct on
every channel.
"""
import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import AccountSettings, ReadStatusMode
from tests.support.factories import send, user_by_email

from .helpers import fill_sign_in, sign_in

# The product's reason to exist, with the evidence each database records: both databases.
pytestmark = pytest.mark.both_databases


def prepare(server, mode, subject):
    with server.app.app_context():
        db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
        db.session.commit()
        message, tokens = send(user_by_email("alice@example.com"), ["bob@partner.example"],
                               subject=subject, body="The figures you asked for.")
        delivery = message.deliveries[0]
        ids = (message.id, delivery.id, tokens[delivery.id])
        db.session.remove()
    return ids


def sender_sees(page, server, message_id):
    page.goto(f"{server.url}/sent/{message_id}")
    row = page.locator("#recipient-status tbody tr", has_text="bob@partner.example")
    return row.locator("td").nth(2)


def admin_sees(page, server, message_id):
    page.goto(f"{server.url}/admin/secure-messaging/messages/{message_id}?tab=status")
    return page.locator("#panel-status li", has_text="bob@partner.example")


def expect_weight(row, bold):
    """The row's computed weight (retried: htmx settles a swapped row in two steps)."""
    expect(row.locator("td").first).to_have_css("font-weight", "700" if bold else "400")


@pytest.mark.parametrize("mode,read_after_link", [
    (ReadStatusMode.INBOX_SELECTION, False),
    (ReadStatusMode.CONTENT_VIEWED, True),
])
def test_the_comment_step_by_step(page, live_server, new_person, mode, read_after_link):
    subject = f"Comment walk-through ({mode.value})"
    message_id, delivery_id, token = prepare(live_server, mode, subject)
    alice = new_person()
    sign_in(alice, live_server.url, "alice@example.com")
    admin = new_person()
    sign_in(admin, live_server.url, "readonly.admin@example.com")

    # 1. The recipient opens the notification link, signs in, reads in the viewer.
    page.goto(f"{live_server.url}/m/{token}")
    fill_sign_in(page, "bob@partner.example")
    expect(page).to_have_url(f"{live_server.url}/m/{token}")
    expect(page.locator(".message-body")).to_have_text("The figures you asked for.")
    expect(sender_sees(alice, live_server, message_id)).to_have_text(
        "Read" if read_after_link else "Sent")
    admin_row = admin_sees(admin, live_server, message_id)
    expect(admin_row.locator(".recipient-status")).to_have_text(
        "Read" if read_after_link else "Sent")
    # The evidence is beside the status, so the admin can tell either way.
    expect(admin_row).to_contain_text("1 time(s); first")
    expect(admin_row).to_contain_text("via Direct link")
    if not read_after_link:
        expect(admin_row.get_by_role("note")).to_contain_text(
            "The status says Sent, but the message body was shown to this recipient "
            "via the direct link")

    # 2. The recipient opens the Inbox: is the message bold?
    page.get_by_role("link", name="Go to Inbox").click()
    row = page.locator(f"#inbox-row-{delivery_id}")
    expect(row).to_be_visible()
    expect_weight(row, bold=not read_after_link)
    unread_before = page.locator("#unread-count").inner_text()

    # 3. The recipient selects it in the Inbox: htmx loads it into the reading pane.
    row.get_by_role("link", name=subject).click()
    expect(page.locator("#reading-pane .message-body")).to_have_text("The figures you asked for.")
    expect(page).to_have_url(f"{live_server.url}/inbox/{delivery_id}")
    expect(row).not_to_have_class(re.compile(r"\bunread\b"))
    expect_weight(row, bold=False)
    if not read_after_link:
        count = int(unread_before.split()[0])
        expect(page.locator("#unread-count")).to_have_text(f"{count - 1} unread")
    expect(sender_sees(alice, live_server, message_id)).to_have_text("Read")
    expect(admin_sees(admin, live_server, message_id).locator(".recipient-status")).to_have_text(
        "Read")

    # Reload and Back work on the pushed URL.
    page.reload()
    expect(page.locator("#reading-pane .message-body")).to_have_text("The figures you asked for.")
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/inbox")
