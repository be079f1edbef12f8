"""Administrators search, open Message Details, and recall in bulk."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import AccountSettings, AuditLogEntry, Edition
from tests.support.factories import send, user_by_email

from .helpers import fill_sign_in, sign_in


def two_messages(server, tag):
    with server.app.app_context():
        alice = user_by_email("alice@example.com")
        sent = [send(alice, ["bob@partner.example", "erin@partner.example"],
                     subject=f"{tag} {n}", body="Body the admin never sees.")
                for n in (1, 2)]
        links = [(m.id, tokens[m.deliveries[0].id]) for m, tokens in sent]
        db.session.remove()
    return links


def set_edition(server, edition):
    with server.app.app_context():
        db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).edition = edition
        db.session.commit()
        db.session.remove()


def search(page, base, subject=""):
    page.goto(f"{base}/admin/secure-messaging")
    page.get_by_label("Subject").fill(subject)
    expect(page.get_by_label("Time range")).to_have_value("48h")
    page.get_by_role("button", name="Search").click()


def test_basic_admin_recalls_two_messages_after_confirming(page, live_server, new_person):
    links = two_messages(live_server, "Bulk recall journey")
    sign_in(page, live_server.url, "basic.admin@example.com")
    search(page, live_server.url, "Bulk recall journey")
    assert "subject=Bulk+recall+journey" in page.url and "range=48h" in page.url
    rows = page.locator("table.admin-results tbody tr")
    expect(rows).to_have_count(2)
    headers = page.locator("table.admin-results thead th").all_inner_texts()
    assert [h.split("\n")[0].replace(" ▼", "").strip() for h in headers[1:]] == [
        "From", "To", "Subject", "Status", "Expiry Date", "Date/Time"]
    expect(rows.first.locator("td").nth(2)).to_have_text("bob@partner.example and 1 other(s)")

    recall = page.locator("#recall-button")
    expect(recall).to_be_disabled()
    page.get_by_label("Select every message on this page").check()
    expect(recall).to_be_enabled()
    recall.click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Recall 2 messages?")
    expect(dialog).to_contain_text("Bulk recall journey 1")
    expect(dialog).to_contain_text("Bulk recall journey 2")
    dialog.get_by_label("Reason (optional)").fill("Client asked us to withdraw these")
    dialog.get_by_role("button", name="Recall").click()
    expect(dialog.get_by_role("status")).to_contain_text("2 messages recalled.")
    # The table refreshed itself: no manual search.
    expect(rows.locator(".status-recalled")).to_have_count(2)
    dialog.get_by_role("link", name="Close").click()
    expect(dialog).to_be_hidden()

    bob = new_person()
    bob.goto(f"{live_server.url}/m/{links[0][1]}")
    fill_sign_in(bob, "bob@partner.example")
    expect(bob.get_by_role("status")).to_contain_text("Recalled by an administrator on")
    expect(bob.get_by_role("status")).to_contain_text("Client asked us to withdraw these")
    expect(bob.locator(".message-body")).to_have_count(0)

    page.get_by_role("link", name="Audit Logs").click()
    newest = page.locator("table.results tbody tr").filter(
        has_text="Secure Messaging - Admin Recalled").filter(has_text="basic.admin@example.com")
    expect(newest.first).to_be_visible()
    with live_server.app.app_context():
        entries = db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type == "Secure Messaging - Admin Recalled")).all()
        ours = [e for e in entries if e.details["message_id"] in {i for i, _ in links}]
        assert len(ours) == 2
        assert {e.details["reason"] for e in ours} == {"Client asked us to withdraw these"}
        assert {e.actor_email for e in ours} == {"basic.admin@example.com"}


def test_message_details_tabs_work_from_the_keyboard(page, live_server):
    two_messages(live_server, "Details journey")
    sign_in(page, live_server.url, "readonly.admin@example.com")
    search(page, live_server.url, "Details journey 1")
    page.get_by_role("link", name="Details journey 1").click()
    panel = page.locator("#details-panel")
    message_tab = panel.get_by_role("tab", name="Message")
    expect(message_tab).to_have_attribute("aria-selected", "true")
    expect(panel.get_by_role("tabpanel")).to_contain_text("General Information")
    expect(panel).not_to_contain_text("Body the admin never sees.")
    assert "/admin/secure-messaging/messages/" in page.url  # the panel has its own URL

    message_tab.focus()
    page.keyboard.press("ArrowRight")
    status_tab = panel.get_by_role("tab", name="Status")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'tab-status'")
    expect(status_tab).to_have_attribute("aria-selected", "true")
    expect(panel.locator("#panel-status")).to_be_visible()
    expect(panel.locator("#panel-message")).to_be_hidden()
    expect(panel.locator("#panel-status")).to_contain_text("bob@partner.example")

    # Roving tabindex: only the selected tab is in the Tab order, and Tab goes on
    # into its panel, Shift+Tab back to it.
    expect(status_tab).to_have_attribute("tabindex", "0")
    expect(message_tab).to_have_attribute("tabindex", "-1")
    page.keyboard.press("Tab")
    page.wait_for_function("() => document.activeElement.id === 'panel-status'")
    page.keyboard.press("Shift+Tab")
    page.wait_for_function("() => document.activeElement.id === 'tab-status'")
    # The arrows wrap round; Home and End go to the first and the last tab.
    for key, selected in [("ArrowRight", "message"), ("ArrowLeft", "status"),
                          ("Home", "message"), ("End", "status")]:
        page.keyboard.press(key)
        tab, other = (message_tab, status_tab) if selected == "message" else (status_tab, message_tab)
        page.wait_for_function(f"() => document.activeElement.id === 'tab-{selected}'")
        expect(tab).to_have_attribute("aria-selected", "true")
        expect(tab).to_have_attribute("tabindex", "0")
        expect(other).to_have_attribute("aria-selected", "false")
        expect(other).to_have_attribute("tabindex", "-1")
        expect(panel.locator(f"#panel-{selected}")).to_be_visible()
        expect(panel.get_by_role("tabpanel")).to_have_count(1)  # the other one is hidden
    page.evaluate("() => window.scrollTo(0, 0)")
    page.keyboard.press("Space")  # on the selected tab: stays, and the page does not scroll
    expect(status_tab).to_have_attribute("aria-selected", "true")
    page.wait_for_timeout(300)  # a scroll would be smooth, so not at once
    assert page.evaluate("() => window.scrollY") == 0

    page.reload()  # the linked URL opens the same panel
    expect(page.locator("#details-panel").get_by_role("tab", name="Message")).to_be_visible()


def forged_recall(page, base, message_id):
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    return page.request.post(f"{base}/admin/secure-messaging/recall",
                             form={"csrf_token": token, "message_ids": str(message_id)})


def test_read_only_admin_has_no_recall_and_a_forged_post_is_refused(page, live_server):
    links = two_messages(live_server, "Read only journey")
    sign_in(page, live_server.url, "readonly.admin@example.com")
    search(page, live_server.url, "Read only journey")
    expect(page.locator("table.admin-results tbody tr")).to_have_count(2)
    expect(page.locator("input[name=message_ids]")).to_have_count(0)
    expect(page.get_by_role("button", name="Recall")).to_have_count(0)
    assert forged_recall(page, live_server.url, links[0][0]).status == 403
    page.reload()
    expect(page.locator(".status-recalled")).to_have_count(0)


@pytest.mark.parametrize("email", ["basic.admin@example.com", "full.admin@example.com"])
def test_in_lite_no_admin_may_recall(page, live_server, email):
    links = two_messages(live_server, f"Lite journey {email}")
    set_edition(live_server, Edition.LITE)
    try:
        sign_in(page, live_server.url, email)
        search(page, live_server.url, f"Lite journey {email}")
        expect(page.locator("#recall-note")).to_contain_text(
            "Admin recall is not available in the Lite edition.")
        expect(page.get_by_role("button", name="Recall")).to_have_count(0)
        assert forged_recall(page, live_server.url, links[0][0]).status == 403
    finally:
        set_edition(live_server, Edition.FULL)


def test_the_row_whose_details_are_open_stays_marked(page, live_server):
    links = two_messages(live_server, "Marked row journey")
    sign_in(page, live_server.url, "readonly.admin@example.com")
    search(page, live_server.url, "Marked row journey")
    first, second = (page.locator(f"#message-row-{message_id}") for message_id, _ in links)
    for opened, other in ((first, second), (second, first)):
        opened.get_by_role("link").click()
        expect(page.locator("#details-panel")).to_contain_text(
            opened.get_by_role("link").inner_text())
        expect(opened).to_have_class("selected")
        expect(other).not_to_have_class("selected")
