"""Back, Forward and reload never show a message body the server was not asked for.

htmx can keep snapshots of pages in the tab's storage for its history cache,
and the browser can keep a whole page in its back-forward cache. Either would
show a recalled message's body, or a body after the session ended, with no
request the server could refuse and no access evidence. Every journey here
checks what the person sees, that the server was asked, and that no body is
left in the tab's storage.
"""
import uuid
from urllib.parse import urlparse

from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.demo.data import DEMO_PASSWORD
from portal.extensions import db
from portal.messaging.recall import sender_recall
from portal.models import AccessEvidence, EvidenceKind
from tests.support.factories import TEST_REQUEST, make_user, send, user_by_email

from .helpers import sign_in

NEW_PASSWORD = "a brand new passphrase 42"

# Every key and value in the tab's sessionStorage and localStorage.
STORAGE = """() => {
  const found = {};
  for (const [name, store] of [["session", sessionStorage], ["local", localStorage]]) {
    for (let i = 0; i < store.length; i++) {
      const key = store.key(i);
      found[name + ":" + key] = store.getItem(key);
    }
  }
  return found;
}"""


def storage_of(page):
    return page.evaluate(STORAGE)


def expect_no_body_stored(page, *bodies):
    for key, value in storage_of(page).items():
        for body in bodies:
            assert body not in key and body not in (value or ""), f"{body!r} kept in {key}"


def two_messages(server, recipient_email):
    """Messages X and Y from Alice to the recipient, each with a body found nowhere else."""
    tag = uuid.uuid4().hex[:8]
    sent = []
    with server.app.app_context():
        alice = user_by_email("alice@example.com")
        for name in ("X", "Y"):
            body = f"Body of {name} {tag} for your eyes only"
            message, _ = send(alice, [recipient_email], subject=f"History {name} {tag}", body=body)
            sent.append((message.id, message.deliveries[0].id, body))
        db.session.remove()
    return sent


def recall(server, message_id):
    with server.app.app_context():
        sender_recall(user_by_email("alice@example.com"), message_id, request_info=TEST_REQUEST)
        db.session.remove()


def refusals(server, delivery_id):
    with server.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(AccessEvidence).where(
            AccessEvidence.delivery_id == delivery_id,
            AccessEvidence.kind == EvidenceKind.ACCESS_REFUSED))
        db.session.remove()
    return count


def record_requests(page):
    paths = []
    page.on("request", lambda request: paths.append(urlparse(request.url).path))
    return paths


def asked_for(delivery_id):
    return lambda request: urlparse(request.url).path == f"/inbox/{delivery_id}"


def open_in_pane(page, delivery_id, body):
    page.locator(f"#inbox-row-{delivery_id} a").click()
    expect(page.locator("#reading-pane .message-body")).to_have_text(body)


def test_back_forward_and_reload_after_a_recall_ask_the_server(page, live_server):
    base = live_server.url
    (x_id, x_delivery, x_body), (y_id, y_delivery, y_body) = two_messages(
        live_server, "bob@partner.example")
    sign_in(page, base, "bob@partner.example")
    page.goto(f"{base}/inbox")
    open_in_pane(page, x_delivery, x_body)
    expect_no_body_stored(page, x_body)
    open_in_pane(page, y_delivery, y_body)
    expect(page).to_have_url(f"{base}/inbox/{y_delivery}")
    expect_no_body_stored(page, x_body, y_body)

    recall(live_server, x_id)
    requests = record_requests(page)
    refused_before = refusals(live_server, x_delivery)
    with page.expect_request(asked_for(x_delivery)):  # the server, not a snapshot
        page.go_back()
    page.wait_for_load_state()
    expect(page).to_have_url(f"{base}/inbox/{x_delivery}")
    pane = page.locator("#reading-pane")
    expect(pane).to_contain_text("Recalled by the sender")
    expect(page.get_by_text(x_body)).to_have_count(0)
    assert f"/inbox/{x_delivery}" in requests  # asked the server, not a snapshot
    assert refusals(live_server, x_delivery) == refused_before + 1
    expect_no_body_stored(page, x_body, y_body)

    recall(live_server, y_id)
    requests.clear()
    # The pane still shows X's recall notice until the page comes back: wait for Y's
    # request and its page, not for text that is already there.
    with page.expect_request(asked_for(y_delivery)):
        page.go_forward()
    page.wait_for_load_state()
    expect(page).to_have_url(f"{base}/inbox/{y_delivery}")
    expect(pane).to_contain_text("Recalled by the sender")
    expect(page.get_by_text(y_body)).to_have_count(0)
    assert f"/inbox/{y_delivery}" in requests
    expect_no_body_stored(page, x_body, y_body)

    requests.clear()
    with page.expect_request(asked_for(y_delivery)):
        page.reload()
    page.wait_for_load_state()
    expect(pane).to_contain_text("Recalled by the sender")
    expect(page.get_by_text(y_body)).to_have_count(0)
    assert f"/inbox/{y_delivery}" in requests
    expect_no_body_stored(page, x_body, y_body)


def test_a_page_the_browser_kept_whole_is_asked_for_again(page, live_server):
    """The browser's back-forward cache: a page with a body, left for another page,
    is not shown again from memory after a recall.

    Chromium under Playwright does not put pages in that cache (and not pages sent
    with `Cache-Control: no-store`), so Back reaches the server here anyway; the
    page's own guard is then checked by the events the browser sends when it puts a
    page into that cache and brings it back.
    """
    base = live_server.url
    (x_id, x_delivery, x_body), (_, y_delivery, y_body) = two_messages(
        live_server, "bob@partner.example")
    sign_in(page, base, "bob@partner.example")
    page.goto(f"{base}/inbox/{x_delivery}")
    expect(page.locator(".message-body")).to_have_text(x_body)
    page.goto(f"{base}/inbox/{y_delivery}")
    expect(page.locator(".message-body")).to_have_text(y_body)

    recall(live_server, x_id)
    requests = record_requests(page)
    page.go_back()
    expect(page.locator("#reading-pane")).to_contain_text("Recalled by the sender")
    expect(page.get_by_text(x_body)).to_have_count(0)
    assert f"/inbox/{x_delivery}" in requests

    # Y's page goes into the cache: its body is dropped from the page kept in memory.
    page.goto(f"{base}/inbox/{y_delivery}")
    expect(page.locator(".message-body")).to_have_text(y_body)
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    expect(page.get_by_text(y_body)).to_have_count(0)
    # ...and coming back out, it asks the server again.
    requests.clear()
    with page.expect_navigation():
        page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(page.locator(".message-body")).to_have_text(y_body)
    assert f"/inbox/{y_delivery}" in requests


def test_sign_out_leaves_nothing_in_the_tab(page, live_server):
    base = live_server.url
    (_, x_delivery, x_body), (_, y_delivery, y_body) = two_messages(
        live_server, "bob@partner.example")
    sign_in(page, base, "bob@partner.example")
    page.goto(f"{base}/inbox")
    open_in_pane(page, x_delivery, x_body)
    open_in_pane(page, y_delivery, y_body)

    with page.expect_response(lambda response: response.request.method == "POST") as sign_out:
        page.get_by_role("button", name="Sign out").click()
    assert "storage" in sign_out.value.all_headers()["clear-site-data"]
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.wait_for_load_state()
    assert storage_of(page) == {}

    page.go_back()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(y_body)).to_have_count(0)
    page.go_back()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(x_body)).to_have_count(0)
    assert storage_of(page) == {}


def test_after_a_password_change_elsewhere_back_shows_no_body(page, live_server, new_person):
    base = live_server.url
    email = f"history.{uuid.uuid4().hex[:8]}@partner.example"
    with live_server.app.app_context():
        make_user(email)
        db.session.remove()
    (_, x_delivery, x_body), (_, y_delivery, y_body) = two_messages(live_server, email)
    sign_in(page, base, email)
    page.goto(f"{base}/inbox")
    open_in_pane(page, x_delivery, x_body)
    open_in_pane(page, y_delivery, y_body)

    # The same person changes the password at another browser: this session ends.
    elsewhere = new_person()
    sign_in(elsewhere, base, email)
    elsewhere.goto(f"{base}/password")
    elsewhere.get_by_label("Current password").fill(DEMO_PASSWORD)
    elsewhere.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    elsewhere.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    elsewhere.get_by_role("button", name="Change password").click()
    expect(elsewhere.get_by_role("status")).to_contain_text("Your password was changed.")

    requests = record_requests(page)
    page.go_back()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(x_body)).to_have_count(0)
    assert f"/inbox/{x_delivery}" in requests
    page.wait_for_load_state()
    assert storage_of(page) == {}

    page.go_forward()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(y_body)).to_have_count(0)
    page.wait_for_load_state()
    assert storage_of(page) == {}
