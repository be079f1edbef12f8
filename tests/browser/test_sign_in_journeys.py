"""A person signs in and out, as each audience, in a real browser."""
import pytest
from playwright.sync_api import expect

from portal.demo.data import DEMO_PASSWORD
from portal.web.htmx import HTMX_URL, HTMX_VERSION

from .conftest import serve_htmx_from
from .helpers import sign_in

JOURNEYS = [
    ("full.admin@example.com", "/admin/secure-messaging", "Secure Messaging"),
    ("basic.admin@example.com", "/admin/secure-messaging", "Secure Messaging"),
    ("readonly.admin@example.com", "/admin/secure-messaging", "Secure Messaging"),
    ("alice@example.com", "/sent", "Sent"),
    ("dave@example.com", "/sent", "Sent"),
    ("bob@partner.example", "/inbox", "Inbox"),
    ("erin@partner.example", "/inbox", "Inbox"),
    ("frank@client.example", "/inbox", "Inbox"),
]


@pytest.mark.parametrize("email,home,heading", JOURNEYS)
def test_each_audience_signs_in_lands_home_and_signs_out(page, live_server, email, home,
                                                         heading):
    sign_in(page, live_server.url, email)
    expect(page).to_have_url(f"{live_server.url}{home}")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("header .who")).to_contain_text(email)
    # htmx arrived under its integrity hash and runs (it is deferred: wait for it).
    page.wait_for_load_state("load")
    assert page.evaluate("() => window.htmx && window.htmx.version") == HTMX_VERSION

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{live_server.url}{home}")
    expect(page).to_have_url(f"{live_server.url}/sign-in?next={home}")


def test_a_wrong_password_is_told_plainly(page, live_server):
    sign_in(page, live_server.url, "bob@partner.example", "wrong password")
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value("bob@partner.example")


def focused(page):
    return page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")


def test_the_sign_in_form_works_from_the_keyboard(page, live_server):
    page.goto(f"{live_server.url}/sign-in")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(focused(page))
    assert order == ["Skip to content", "Secure Messaging Portal", "email", "password", "Sign in"]
    page.get_by_label("Email").focus()
    page.keyboard.type("alice@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/sent")


def test_a_tampered_htmx_file_is_refused_by_its_integrity_hash(context, live_server, tmp_path):
    tampered = tmp_path / "htmx.min.js"
    tampered.write_text("window.htmx = {version: 'tampered'};")
    context.unroute(HTMX_URL)
    context.route(HTMX_URL, serve_htmx_from(tampered))
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/sign-in")
    page.wait_for_load_state("load")
    assert page.evaluate("() => typeof window.htmx") == "undefined"
    assert any("integrity" in text for text in errors)


def test_an_htmx_click_after_the_session_ended_goes_to_sign_in(page, live_server):
    sign_in(page, live_server.url, "frank@client.example")
    expect(page).to_have_url(f"{live_server.url}/inbox")
    page.context.clear_cookies()  # the session is gone, the page is still open
    page.locator("table.inbox tbody a").first.click()
    expect(page).to_have_url(f"{live_server.url}/sign-in?next=/inbox")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#reading-pane")).to_have_count(0)
