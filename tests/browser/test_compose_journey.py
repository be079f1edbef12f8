"""An internal sender composes; the notification emails arrive with working links."""
from playwright.sync_api import expect

from .helpers import fill_sign_in, link_in, sign_in, wait_for


def compose(page, base, to, subject="Signed contract", body="Hello,\nplease sign page 3."):
    page.goto(f"{base}/compose")
    page.get_by_label("To", exact=True).fill(to)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Body").fill(body)
    page.get_by_role("button", name="Send").click()


def test_composed_message_reaches_smtp_and_each_link_works(page, mail_portal, new_person):
    server, sink = mail_portal
    sign_in(page, server.url, "alice@example.com")
    compose(page, server.url, "bob@partner.example, newcomer@elsewhere.example")
    expect(page.get_by_role("status")).to_have_text("Secure message sent to 2 recipients.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed contract")

    wait_for(lambda: len(sink.messages) == 2)
    bob_email, = sink.to("bob@partner.example")
    newcomer_email, = sink.to("newcomer@elsewhere.example")
    assert bob_email["Subject"] == "Secure message from alice@example.com: Signed contract"

    bob = new_person()
    bob.goto(link_in(bob_email))
    expect(bob.get_by_role("heading", name="Sign in")).to_be_visible()
    fill_sign_in(bob, "bob@partner.example")
    expect(bob.locator(".message-body")).to_have_text("Hello,\nplease sign page 3.")

    newcomer = new_person()
    newcomer.goto(link_in(newcomer_email))
    expect(newcomer.get_by_role("heading", name="Register")).to_be_visible()
    newcomer.get_by_label("Password", exact=True).fill("a long enough password")
    newcomer.get_by_label("Confirm password").fill("a long enough password")
    newcomer.get_by_role("button", name="Register").click()
    expect(newcomer.locator(".message-body")).to_have_text("Hello,\nplease sign page 3.")


def test_with_no_smtp_the_emails_wait_in_the_dev_mailbox(page, live_server, new_person):
    sign_in(page, live_server.url, "dave@example.com")
    compose(page, live_server.url, "frank@client.example, erin@partner.example",
            subject="Dev mailbox check")
    expect(page.get_by_role("status")).to_have_text("Secure message sent to 2 recipients.")

    page.goto(f"{live_server.url}/dev/mailbox")
    rows = page.locator("tr", has_text="Dev mailbox check")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="frank@client.example")).to_have_count(1)
    link = rows.filter(has_text="erin@partner.example").get_by_role("link", name="Open message")
    href = link.get_attribute("href")

    erin = new_person()
    erin.goto(href)
    fill_sign_in(erin, "erin@partner.example")
    expect(erin.get_by_role("heading", level=1)).to_have_text("Dev mailbox check")


def test_compose_shows_inline_errors_and_keeps_what_was_typed(page, live_server):
    sign_in(page, live_server.url, "alice@example.com")
    compose(page, live_server.url, "bob@partner.example, not-an-address", subject="")
    expect(page.get_by_role("alert")).to_contain_text("The message was not sent.")
    expect(page.locator("#to-error")).to_have_text("not-an-address is not a valid email address.")
    expect(page.locator("#subject-error")).to_have_text("Enter a subject.")
    expect(page.get_by_label("To", exact=True)).to_have_value(
        "bob@partner.example, not-an-address")
    expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")


def test_sender_recalls_from_the_confirmation_dialog_by_keyboard(page, live_server):
    sign_in(page, live_server.url, "alice@example.com")
    compose(page, live_server.url, "bob@partner.example", subject="To be recalled")
    page.wait_for_load_state()  # the page's script handles the keys below
    page.get_by_role("button", name="Recall").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Recall this message?")
    expect(dialog).to_be_visible()
    # The focus moved into the dialog (read from the page: window focus varies headless).
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'reason'")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="Recall").click()
    page.get_by_label("Reason (optional)").fill("Wrong client")
    dialog.get_by_role("button", name="Recall").click()
    expect(page.get_by_role("status")).to_have_text(
        "Message recalled. Its recipients can no longer open it.")
    expect(page.locator("#recall-notice")).to_contain_text("Recalled by you on")
    expect(page.locator("#recall-notice")).to_contain_text("Reason: Wrong client")
