"""Every screen under the strict Content-Security-Policy: no violation, htmx still works."""
from playwright.sync_api import expect

from portal.extensions import db
from tests.support.factories import send, user_by_email

from .helpers import fill_sign_in, sign_in

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def violations(page):
    return page.evaluate("() => window.__cspViolations")


def visit(page, url, checks=()):
    page.goto(url)
    page.wait_for_load_state("load")
    for check in checks:
        check(page)
    assert violations(page) == [], url
    assert page.evaluate("() => typeof window.htmx") == "object", url


def test_no_screen_violates_the_policy(context, live_server, new_person):
    context.add_init_script(RECORD_VIOLATIONS)
    base = live_server.url
    with live_server.app.app_context():
        message, tokens = send(user_by_email("alice@example.com"),
                               ["bob@partner.example", "newcomer.csp@elsewhere.example"],
                               subject="CSP walk", allow_print=True)
        bob_delivery, newcomer = message.deliveries
        bob_token, newcomer_token = tokens[bob_delivery.id], tokens[newcomer.id]
        message_id, delivery_id = message.id, bob_delivery.id
        db.session.remove()

    page = context.new_page()
    visit(page, f"{base}/sign-in")
    visit(page, f"{base}/register/{newcomer_token}")
    page.goto(f"{base}/m/{bob_token}")
    fill_sign_in(page, "bob@partner.example")
    expect(page.locator(".message-body")).to_be_visible()
    assert violations(page) == []
    visit(page, f"{base}/inbox")
    page.locator(f"#inbox-row-{delivery_id} a").click()  # htmx swaps the reading pane
    expect(page.locator("#reading-pane .message-body")).to_be_visible()
    assert violations(page) == []
    visit(page, f"{base}/inbox/{delivery_id}/reply")
    visit(page, f"{base}/password")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, "alice@example.com")
    for path in ("/compose", "/sent", f"/sent/{message_id}", f"/sent/{message_id}?confirm=recall"):
        visit(page, f"{base}{path}")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, "full.admin@example.com")
    visit(page, f"{base}/admin/secure-messaging")
    page.locator("table.admin-results tbody a").first.click()  # htmx: Message Details
    page.get_by_role("tab", name="Status").click()
    expect(page.locator("#panel-status")).to_be_visible()
    page.locator("input[name=message_ids]").first.check()
    page.locator("#recall-button").click()  # htmx: the recall dialog
    expect(page.get_by_role("dialog")).to_be_visible()
    assert violations(page) == []
    visit(page, f"{base}/account/audit-logs", checks=[
        lambda p: expect(p.locator("#chain-status")).to_contain_text("Audit chain verified")])
    for path in ("/account/settings", "/account/administrators",
                 "/account/read-status-discrepancies", "/dev/mailbox"):
        visit(page, f"{base}{path}")
