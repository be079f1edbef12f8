"""The recall confirmation dialogs, keyboard only: open, stay inside, close, confirm.

Focus is read from the page (document.activeElement): window focus varies headless.
The Message Details tabs are in test_admin_journey.py.
"""
from playwright.sync_api import expect

from portal.extensions import db
from tests.support.factories import send, user_by_email

from .helpers import sign_in

FOCUSED = """() => {
  const a = document.activeElement;
  return a === document.body || !a ? "body"
    : (a.id || a.getAttribute("aria-label") || a.textContent.trim()) +
      (a.closest("dialog") ? " (in dialog)" : "");
}"""


def focused(page):
    return page.evaluate(FOCUSED)


def expect_focus(page, name):
    page.wait_for_function(f"() => ({FOCUSED})() === {name!r}")


def tab_through(page, presses, key="Tab"):
    stops = []
    for _ in range(presses):
        page.keyboard.press(key)
        stops.append(focused(page))
    return stops


def send_two(server, tag):
    with server.app.app_context():
        alice = user_by_email("alice@example.com")
        ids = [send(alice, ["bob@partner.example"], subject=f"{tag} {n}")[0].id for n in (1, 2)]
        db.session.remove()
    return ids


def test_admin_recalls_with_the_keyboard_only(page, live_server):
    send_two(live_server, "Keyboard recall")
    sign_in(page, live_server.url, "basic.admin@example.com")
    page.goto(f"{live_server.url}/admin/secure-messaging?subject=Keyboard+recall")
    expect(page.locator("table.admin-results tbody tr")).to_have_count(2)

    page.get_by_label("Select every message on this page").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")  # back to the Recall button, enabled by the tick
    expect_focus(page, "recall-button")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Recall 2 messages?")
    expect(dialog).to_be_visible()
    expect_focus(page, "reason (in dialog)")

    # Tab and Shift+Tab go round the dialog's controls, never out of it.
    assert tab_through(page, 4) == ["Cancel (in dialog)", "Recall (in dialog)",
                                    "reason (in dialog)", "Cancel (in dialog)"]
    assert tab_through(page, 3, "Shift+Tab") == ["reason (in dialog)", "Recall (in dialog)",
                                                 "Cancel (in dialog)"]

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect_focus(page, "recall-button")
    expect(page.locator(".status-recalled")).to_have_count(0)

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect_focus(page, "reason (in dialog)")
    page.keyboard.type("Sent to the wrong client")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect_focus(page, "Recall (in dialog)")
    page.keyboard.press("Enter")
    outcome = page.get_by_role("dialog").get_by_role("status")
    expect(outcome).to_contain_text("2 messages recalled.")
    expect_focus(page, "Close (in dialog)")  # the focus follows the new content
    expect(page.locator("table.admin-results .status-recalled")).to_have_count(2)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_hidden()
    # The Recall button that opened it was replaced by the refreshed results.
    expect_focus(page, "search-results")


def test_sender_recalls_with_the_keyboard_only(page, live_server):
    message_id, _ = send_two(live_server, "Keyboard sender recall")
    sign_in(page, live_server.url, "alice@example.com")
    page.goto(f"{live_server.url}/sent/{message_id}")
    page.get_by_role("button", name="Recall").focus()
    page.keyboard.press("Space")  # a link in the role of a button answers Space too
    dialog = page.get_by_role("dialog", name="Recall this message?")
    expect(dialog).to_be_visible()
    expect_focus(page, "reason (in dialog)")
    assert tab_through(page, 3) == ["Cancel (in dialog)", "Recall (in dialog)",
                                    "reason (in dialog)"]
    assert tab_through(page, 1, "Shift+Tab") == ["Recall (in dialog)"]

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect_focus(page, "Recall")

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.type("Wrong attachment")
    page.keyboard.press("Tab")
    expect_focus(page, "Cancel (in dialog)")
    page.keyboard.press("Enter")  # Cancel closes without recalling
    expect(dialog).to_be_hidden()
    expect_focus(page, "Recall")

    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")  # from the reason, round to the confirming button
    expect_focus(page, "Recall (in dialog)")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Message recalled. Its recipients can no longer open it.")
    expect(page.locator("#recall-notice")).to_contain_text("Reason: Wrong attachment")
