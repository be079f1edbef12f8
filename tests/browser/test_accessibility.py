"""Every screen, checked with axe-core: no serious or critical violation.

axe-core comes from the npm registry at a pinned version, fetched once into
`.cache/` like htmx. It goes into the page with `page.evaluate`, which runs the
source through the DevTools protocol, where the page's Content-Security-Policy
does not apply: the portal's policy stays exactly as served. The alternatives
are worse: an added `<script>` tag is (rightly) refused by the policy, and a
`bypass_csp` context switches the policy off for the whole page, so axe would
no longer check the page a person gets.
"""
import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.messaging.reading import record_link_opened, record_view
from portal.messaging.recall import recall_messages
from portal.models import AccountSettings, ReadStatusMode, RecallSource, ViewChannel
from tests.support.factories import TEST_REQUEST, account_mode, send, user_by_email
from tests.support.npm_copy import npm_file

from .helpers import fill_sign_in, sign_in

AXE_CORE_VERSION = "4.14.1"

SERIOUS_VIOLATIONS = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.filter(v => ["serious", "critical"].includes(v.impact)).map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


@pytest.fixture(scope="session")
def axe_source():
    return npm_file("axe-core", AXE_CORE_VERSION, "axe.min.js").read_text()


class AxeAudit:
    """Checks each screen of a walk as it goes; reports every finding at the end."""

    def __init__(self, page, source):
        self.page, self.source, self.findings = page, source, []

    def check(self, screen):
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(self.source)
        for v in self.page.evaluate(SERIOUS_VIOLATIONS):
            targets = "; ".join(v["targets"][:5]) + ("; …" if len(v["targets"]) > 5 else "")
            self.findings.append(f"{screen}: {v['id']} ({v['impact']}): {v['help']}\n"
                                 f"    at {targets}\n    see {v['helpUrl']}")

    def assert_clean(self):
        if self.findings:
            pytest.fail(f"axe-core {AXE_CORE_VERSION}: {len(self.findings)} serious or critical "
                        "violation(s):\n" + "\n".join(self.findings))


@pytest.fixture
def axe(page, axe_source):
    return AxeAudit(page, axe_source)


@pytest.fixture(scope="module")
def walk(live_server):
    """Messages for every screen, made once per database: one to read with every
    permission, a registration link, one recalled (410), one read-status discrepancy."""
    with live_server.app.app_context():
        alice = user_by_email("alice@example.com")
        readable, tokens = send(alice, ["bob@partner.example", "newcomer.axe@elsewhere.example"],
                                cc=["dave@example.com"], subject="Accessibility walk",
                                allow_reply=True, allow_reply_all=True, allow_forward=True,
                                allow_print=True)
        bob, newcomer = readable.deliveries[:2]
        recalled, recalled_tokens = send(alice, ["bob@partner.example"], subject="Withdrawn")
        recall_messages(alice, [recalled.id], source=RecallSource.SENDER, reason="Wrong file",
                        request_info=TEST_REQUEST)
        settings = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
        mode, settings.read_status_mode = settings.read_status_mode, ReadStatusMode.INBOX_SELECTION
        db.session.commit()
        unseen, _ = send(alice, ["erin@partner.example"], subject="Read through the link")
        erin = unseen.deliveries[0]
        record_link_opened(erin, signed_in=False, request_info=TEST_REQUEST)
        record_view(erin.recipient, erin, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST)
        db.session.get(AccountSettings, AccountSettings.SINGLETON_ID).read_status_mode = mode
        db.session.commit()
        ids = {"message": readable.id, "delivery": bob.id, "bob": tokens[bob.id],
               "newcomer": tokens[newcomer.id],
               "recalled": recalled_tokens[recalled.deliveries[0].id]}
        db.session.remove()
    return ids


def test_screens_before_signing_in(page, live_server, walk, axe):
    base = live_server.url
    page.goto(f"{base}/sign-in")
    axe.check("sign-in")
    fill_sign_in(page, "nobody@example.com", "not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check("sign-in with an error")
    page.goto(f"{base}/register/{walk['newcomer']}")
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    axe.check("registration")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check("registration with errors")
    page.goto(f"{base}/m/not-a-token")
    axe.check("link not valid")
    assert page.goto(f"{base}/no-such-page").status == 404
    axe.check("404")
    axe.assert_clean()


def test_recipient_screens(page, live_server, walk, axe):
    base = live_server.url
    page.goto(f"{base}/m/{walk['bob']}")
    fill_sign_in(page, "bob@partner.example")
    expect(page.locator(".message-body")).to_be_visible()
    axe.check("message viewer")
    page.goto(f"{base}/inbox")
    page.locator(f"#inbox-row-{walk['delivery']} a").click()
    expect(page.locator("#reading-pane .message-body")).to_be_visible()
    axe.check("Inbox with the reading pane")
    page.goto(f"{base}/inbox/{walk['delivery']}/forward")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check("forward with errors")
    assert page.goto(f"{base}/m/{walk['recalled']}").status == 410
    axe.check("410: a recalled message")
    page.goto(f"{base}/password")
    axe.check("change password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check("change password with errors")
    axe.assert_clean()


def test_sender_screens(page, live_server, walk, axe):
    base = live_server.url
    sign_in(page, base, "alice@example.com")
    page.goto(f"{base}/compose")
    axe.check("compose")
    page.get_by_label("To", exact=True).fill("bob@partner.example, not-an-address")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check("compose with errors")
    page.goto(f"{base}/sent")
    axe.check("Sent")
    page.goto(f"{base}/sent/{walk['message']}")
    axe.check("sent message")
    page.get_by_role("button", name="Recall").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    axe.check("sent message with its recall dialog")
    axe.assert_clean()


def test_admin_screens(page, live_server, walk, axe):
    base = live_server.url
    sign_in(page, base, "full.admin@example.com")
    page.goto(f"{base}/admin/secure-messaging?subject=Accessibility+walk")
    expect(page.locator("table.admin-results tbody tr")).to_have_count(1)
    axe.check("Secure Messaging search with results")
    page.get_by_role("link", name="Accessibility walk").click()
    expect(page.get_by_role("tabpanel")).to_contain_text("General Information")
    axe.check("Message Details, Message tab")
    page.get_by_role("tab", name="Status").click()
    expect(page.locator("#panel-status")).to_be_visible()
    axe.check("Message Details, Status tab")
    page.get_by_label("Select every message on this page").check()
    page.locator("#recall-button").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    axe.check("recall confirmation dialog")
    page.goto(f"{base}/admin/secure-messaging?subject=no+such+subject")
    axe.check("Secure Messaging search without results")
    page.goto(f"{base}/account/audit-logs")
    expect(page.locator("#chain-status")).to_contain_text("Audit chain verified")
    axe.check("Audit Logs")
    page.locator("#audit-results tbody a").first.click()
    expect(page.locator("#entry-fields")).to_be_visible()
    axe.check("Audit Logs with an entry's details")
    page.goto(f"{base}/account/read-status-discrepancies")
    expect(page.locator("table.discrepancies tbody tr")).not_to_have_count(0)
    axe.check("read-status discrepancies")
    page.goto(f"{base}/account/settings")
    axe.check("Settings")
    page.get_by_label("Time zone").fill("Nowhere/Special")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check("Settings with errors")
    page.goto(f"{base}/account/administrators")
    axe.check("Administrators")
    page.goto(f"{base}/dev/mailbox")
    axe.check("Dev mailbox")
    page.locator("table.results tbody a").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    axe.check("Dev mailbox email")
    axe.assert_clean()
