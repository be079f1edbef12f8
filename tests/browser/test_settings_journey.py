"""A Full Administrator switches the read-status mode in the browser; the next
direct-link view follows it, in both directions.

The live server is shared by the whole browser session, so every setting this
journey touches is put back afterwards.
"""
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import AccountSettings, ReadStatusMode
from portal.settings import CHANGEABLE
from tests.support.factories import send, user_by_email

from .helpers import fill_sign_in, sign_in

BODY = "Figures for the settings journey."


def settings_row():
    return db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)


def snapshot(server):
    with server.app.app_context():
        values = {name: getattr(settings_row(), name) for name in CHANGEABLE}
        db.session.remove()
    return values


def restore(server, values):
    with server.app.app_context():
        row = settings_row()
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()
        db.session.remove()


def send_to_bob(server, subject):
    with server.app.app_context():
        message, tokens = send(user_by_email("alice@example.com"), ["bob@partner.example"],
                               subject=subject, body=BODY)
        ids = (message.id, tokens[message.deliveries[0].id])
        db.session.remove()
    return ids


def status_on_sent_page(page, server, message_id):
    page.goto(f"{server.url}/sent/{message_id}")
    row = page.locator("#recipient-status tbody tr", has_text="bob@partner.example")
    return row.locator("td").nth(2)


def choose_read_status_mode(admin, mode):
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(admin.get_by_role("heading", name="Settings")).to_be_visible()
    expect(admin.get_by_role("radiogroup", name="Read-status mode")).to_be_visible()
    admin.get_by_label(mode, exact=True).check()
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("status")).to_have_text("Settings saved. Changed: Read-status mode.")
    expect(admin.get_by_label(mode, exact=True)).to_be_checked()


def test_the_next_direct_link_view_follows_the_mode_chosen_in_the_browser(page, live_server,
                                                                        new_person):
    original = snapshot(live_server)
    try:
        restore(live_server, {"read_status_mode": ReadStatusMode.CONTENT_VIEWED})
        admin = new_person()
        sign_in(admin, live_server.url, "full.admin@example.com")
        alice = new_person()
        sign_in(alice, live_server.url, "alice@example.com")

        # inbox_selection: the recipient reads through the link, and the status stays Sent.
        choose_read_status_mode(admin, "inbox_selection")
        first_id, first_token = send_to_bob(live_server, "Settings journey (inbox_selection)")
        page.goto(f"{live_server.url}/m/{first_token}")
        fill_sign_in(page, "bob@partner.example")
        expect(page.locator(".message-body")).to_have_text(BODY)
        expect(status_on_sent_page(alice, live_server, first_id)).to_have_text("Sent")

        # content_viewed again: a fresh message read the same way is Read.
        choose_read_status_mode(admin, "content_viewed")
        second_id, second_token = send_to_bob(live_server, "Settings journey (content_viewed)")
        page.goto(f"{live_server.url}/m/{second_token}")
        expect(page.locator(".message-body")).to_have_text(BODY)
        expect(status_on_sent_page(alice, live_server, second_id)).to_have_text("Read")
        # The earlier message is not re-judged by the new mode: it stays Sent.
        expect(status_on_sent_page(alice, live_server, first_id)).to_have_text("Sent")
    finally:
        restore(live_server, original)
