"""After an admin recall, a Read Only admin finds it in Audit Logs and exports it."""
import csv
import io

from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.reading import record_view
from portal.messaging.recall import recall_messages
from portal.models import RecallSource, ViewChannel
from tests.support.factories import TEST_REQUEST, account_mode, send, user_by_email

from .helpers import sign_in


def test_read_only_admin_finds_the_recall_and_exports_it(page, live_server):
    with live_server.app.app_context():
        message, _ = send(user_by_email("alice@example.com"),
                          ["bob@partner.example", "erin@partner.example"],
                          subject="Audit journey message")
        bob = message.deliveries[0]
        record_view(bob.recipient, bob, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST)
        recall_messages(user_by_email("basic.admin@example.com"), [message.id],
                        source=RecallSource.ADMIN, reason="Audit journey reason",
                        request_info=TEST_REQUEST)
        db.session.remove()

    sign_in(page, live_server.url, "readonly.admin@example.com")
    page.get_by_role("link", name="Audit Logs").click()
    expect(page.locator("#chain-status")).to_contain_text("Audit chain verified")
    page.get_by_label("Category").select_option("Secure Messaging Logs")
    page.get_by_label("Type").select_option("Secure Messaging - Admin Recalled")
    page.get_by_label("Text").fill("Audit journey message")
    page.get_by_role("button", name="Filter").click()

    rows = page.locator("#audit-results tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    panel = page.locator("#entry-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Audit journey message")
    expect(panel).to_contain_text("Audit journey reason")
    recipients = panel.locator("#entry-recipients tbody tr")
    expect(recipients.filter(has_text="bob@partner.example")).to_contain_text("Yes")
    expect(recipients.filter(has_text="erin@partner.example")).to_contain_text("No")
    assert "/account/audit-logs/" in page.url

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][2] == "Type"
    assert len(rows) == 2
    assert rows[1][2] == "Secure Messaging - Admin Recalled"
    assert "Audit journey reason" in rows[1][6] and "Audit journey message" in rows[1][6]
