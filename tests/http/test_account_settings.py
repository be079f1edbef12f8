"""Account > Settings over HTTP: labels, who may, CSRF, bad input, and changes applied at once."""
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AccountSettings,
    AuditLogEntry,
    Delivery,
    Edition,
    ReadStatusMode,
    RecipientStatus,
)
from portal.settings import CHANGEABLE
from tests.conftest import AuthActions
from tests.support.factories import send

SETTINGS = "/account/settings"
CHANGED = "Account - Settings Changed"
LITE_NOTE = "Admin recall is not available in the Lite edition"
NOT_FULL = ["readonly.admin@example.com", "basic.admin@example.com", "alice@example.com",
            "bob@partner.example"]
# The form as a browser sends the demo account's settings (unticked boxes are absent).
AS_SEEDED = {"edition": "Full", "read_status_mode": "content_viewed",
             "default_expiry_days": "30", "allow_no_expiry": "y", "default_allow_reply": "y",
             "default_allow_print": "y", "time_zone": "UTC"}


def stored(app):
    with app.app_context():
        row = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
        values = {name: getattr(row, name) for name in CHANGEABLE}
        db.session.remove()
    return values


def audit_count(app):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(AuditLogEntry)
                                  .where(AuditLogEntry.type == CHANGED))
        db.session.remove()
    return count


def save(client, auth, **fields):
    data = {"csrf_token": auth.csrf_token(SETTINGS), **AS_SEEDED, **fields}
    return client.post(SETTINGS, data={k: v for k, v in data.items() if v is not None})


def notices(html):
    return [unescape(text) for text in re.findall(r'<p class="notice" role="status">(.*?)</p>',
                                                    html)]


def inputs(html, name):
    return [tag for tag in re.findall(r"<input [^>]*>", html) if f'name="{name}"' in tag]


def value_of(tag):
    return unescape(re.search(r'value="([^"]*)"', tag).group(1))


def chosen(html, name):
    """The value of the chosen radio button, or whether the tick box is ticked."""
    tags = inputs(html, name)
    if 'type="checkbox"' in tags[0]:
        return " checked" in tags[0]
    return [value_of(tag) for tag in tags if " checked" in tag]


def text_value(html, name):
    return value_of(inputs(html, name)[0])


@pytest.fixture
def full_admin(people, auth):
    auth.sign_in("full.admin@example.com")
    return people


def test_the_page_shows_every_setting_with_its_label_and_current_value(full_admin, client):
    response = client.get(SETTINGS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<legend>Edition</legend>" in html
    assert "<legend>Read-status mode</legend>" in html
    assert "<legend>Secure Messaging definition</legend>" in html
    for label in ("Full", "Lite", "content_viewed", "inbox_selection", "Default expiry (days)",
                  "Allow messages with no expiry", "Allow reply", "Allow reply all",
                  "Allow forward", "Allow print", "Read receipt", "Time zone"):
        assert re.search(rf'<label[^>]*for="[^"]+">{re.escape(label)}</label>', html), label
    # One sentence on what each read-status mode means, tied to its radio button.
    assert ('id="read_status_mode-0-hint">A recipient is Read as soon as the message body is '
            'shown to them, by any channel') in html
    assert ('id="read_status_mode-1-hint">Only selecting the message in the Inbox sets Read, '
            'reproducing the discrepancy reported') in html
    assert 'aria-describedby="read_status_mode-1-hint"' in html
    # Current values.
    assert chosen(html, "edition") == ["Full"]
    assert chosen(html, "read_status_mode") == ["content_viewed"]
    assert text_value(html, "default_expiry_days") == "30"
    assert [chosen(html, name) for name in (
        "allow_no_expiry", "default_allow_reply", "default_allow_reply_all",
        "default_allow_forward", "default_allow_print", "default_read_receipt",
    )] == [True, True, False, False, True, False]
    assert text_value(html, "time_zone") == "UTC"
    assert '<option value="Europe/London">' in html  # the zones offered as suggestions
    assert ">Save settings</button>" in html


def test_the_navigation_offers_settings_and_administrators_to_a_full_admin_only(people, app):
    for email, shown in [("full.admin@example.com", True), ("basic.admin@example.com", False),
                         ("readonly.admin@example.com", False)]:
        client = app.test_client()
        html = AuthActions(client).sign_in(email, follow=True).get_data(as_text=True)
        nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
        assert ('href="/account/settings"' in nav) is shown, email
        assert ('href="/account/administrators"' in nav) is shown, email
        assert 'href="/account/audit-logs"' in nav


def test_the_current_page_is_marked_in_the_navigation(full_admin, client):
    html = client.get(SETTINGS).get_data(as_text=True)
    assert '<a href="/account/settings" aria-current="page">Settings</a>' in html


def test_saving_applies_and_audits_only_what_changed(app, full_admin, client, auth):
    response = save(client, auth, edition="Lite", read_status_mode="inbox_selection",
                    default_expiry_days="", default_allow_forward="y", time_zone="Asia/Tokyo")
    assert response.status_code == 302
    assert response.headers["Location"] == SETTINGS
    html = client.get(SETTINGS).get_data(as_text=True)
    assert notices(html) == [("Settings saved. Changed: Edition, Read-status mode, "
                              "Default expiry (days), Allow forward, Time zone.")]
    values = stored(app)
    assert values["edition"] is Edition.LITE
    assert values["read_status_mode"] is ReadStatusMode.INBOX_SELECTION
    assert values["default_expiry_days"] is None
    assert values["default_allow_forward"] is True
    assert values["time_zone"] == "Asia/Tokyo"
    with app.app_context():
        entry = db.session.scalars(select(AuditLogEntry)
                                   .where(AuditLogEntry.type == CHANGED)).one()
        assert entry.category == "Account Logs"
        assert entry.actor_email == "full.admin@example.com"
        assert entry.details == {"changes": {
            "edition": {"old": "Full", "new": "Lite"},
            "read_status_mode": {"old": "content_viewed", "new": "inbox_selection"},
            "default_expiry_days": {"old": 30, "new": None},
            "default_allow_forward": {"old": False, "new": True},
            "time_zone": {"old": "UTC", "new": "Asia/Tokyo"},
        }}
        db.session.remove()
    # The page now shows the saved values.
    assert chosen(html, "edition") == ["Lite"]
    assert chosen(html, "read_status_mode") == ["inbox_selection"]
    assert text_value(html, "default_expiry_days") == ""
    assert chosen(html, "default_allow_forward") is True
    assert text_value(html, "time_zone") == "Asia/Tokyo"


def test_unticking_a_box_is_a_change_too(app, full_admin, client, auth):
    save(client, auth, default_allow_reply=None)
    assert stored(app)["default_allow_reply"] is False
    assert audit_count(app) == 1


def test_saving_without_a_change_says_so_and_writes_nothing(app, full_admin, client, auth):
    before = stored(app)
    response = save(client, auth)
    assert response.status_code == 302
    assert notices(client.get(SETTINGS).get_data(as_text=True)) == [
        "Nothing changed: the settings were already as shown."]
    assert stored(app) == before
    assert audit_count(app) == 0


@pytest.mark.parametrize("fields,field,text", [
    ({"edition": "Premium"}, "edition", "Choose Full or Lite."),
    ({"edition": None}, "edition", "Choose Full or Lite."),
    ({"read_status_mode": "on_open"}, "read_status_mode",
     "Choose content_viewed or inbox_selection."),
    ({"default_expiry_days": "0"}, "default_expiry_days",
     "Enter a whole number of days from 1 to 3650, or leave it blank."),
    ({"default_expiry_days": "3651"}, "default_expiry_days",
     "Enter a whole number of days from 1 to 3650, or leave it blank."),
    ({"default_expiry_days": "ten"}, "default_expiry_days",
     "Enter a whole number of days from 1 to 3650, or leave it blank."),
    ({"default_expiry_days": "9" * 6000}, "default_expiry_days",
     "Enter a whole number of days from 1 to 3650, or leave it blank."),
    ({"time_zone": ""}, "time_zone", "Enter a time zone, for example Europe/London or UTC."),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone",
     "Mars/Olympus_Mons is not a time zone name. Use an IANA name such as Europe/London or UTC."),
    ({"time_zone": "<script>x</script>"}, "time_zone",
     "&lt;script&gt;x&lt;/script&gt; is not a time zone name."),
])
def test_bad_input_is_refused_inline_and_saves_nothing(app, full_admin, client, auth, fields,
                                                       field, text):
    before = stored(app)
    # A good change beside the bad one is not saved either.
    response = save(client, auth, **{"default_allow_forward": "y", **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{text}' in html
    assert 'role="alert"' in html and "The settings were not saved." in html
    assert 'aria-invalid="true"' in html
    assert re.search(rf'aria-describedby="[^"]*{field}-error"', html)
    assert "<script>x" not in html
    assert stored(app) == before
    assert audit_count(app) == 0


def test_a_post_without_a_csrf_token_answers_400_and_saves_nothing(app, full_admin, client):
    before = stored(app)
    response = client.post(SETTINGS, data={**AS_SEEDED, "edition": "Lite"})
    assert response.status_code == 400
    assert stored(app) == before
    assert audit_count(app) == 0


@pytest.mark.parametrize("email", NOT_FULL)
def test_everyone_but_a_full_admin_is_refused_the_page_and_the_save(app, people, client, auth,
                                                                     email):
    auth.sign_in(email)
    before = stored(app)
    assert client.get(SETTINGS).status_code == 403
    token = auth.csrf_token("/")
    response = client.post(SETTINGS, data={"csrf_token": token, **AS_SEEDED, "edition": "Lite"})
    assert response.status_code == 403
    assert stored(app) == before
    assert audit_count(app) == 0


def test_signed_out_the_page_sends_you_to_sign_in(people, client):
    response = client.get(SETTINGS)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_switching_to_lite_takes_effect_on_the_next_request(app, full_admin, client, auth):
    other = app.test_client()  # a Basic admin, signed in before the change
    AuthActions(other).sign_in("basic.admin@example.com")
    assert LITE_NOTE not in other.get("/admin/secure-messaging").get_data(as_text=True)

    save(client, auth, edition="Lite")
    assert LITE_NOTE in client.get("/admin/secure-messaging").get_data(as_text=True)
    assert LITE_NOTE in other.get("/admin/secure-messaging").get_data(as_text=True)

    save(client, auth, edition="Full")
    assert LITE_NOTE not in other.get("/admin/secure-messaging").get_data(as_text=True)


def test_the_secure_messaging_definition_is_what_compose_offers_next(app, full_admin, client,
                                                                      auth):
    sender = app.test_client()
    AuthActions(sender).sign_in("alice@example.com")
    save(client, auth, default_expiry_days="", allow_no_expiry="y", default_allow_reply=None,
         default_allow_forward="y", default_read_receipt="y")
    html = sender.get("/compose").get_data(as_text=True)
    assert '<input checked id="no_expiry"' in html
    assert '<input id="allow_reply"' in html
    assert '<input checked id="allow_forward"' in html
    assert '<input checked id="read_receipt"' in html

    save(client, auth, allow_no_expiry=None)
    assert "No expiry" not in sender.get("/compose").get_data(as_text=True)


def test_the_next_direct_link_view_follows_the_read_status_mode(app, people, full_admin, client,
                                                                 auth):
    recipient = app.test_client()
    AuthActions(recipient).sign_in("bob@partner.example")

    def direct_link_view(subject):
        with app.app_context():
            message, tokens = send(people["alice@example.com"], ["bob@partner.example"],
                                   subject=subject, body="BODY-SETTINGS-7781")
            delivery = message.deliveries[0]
            delivery_id, token = delivery.id, tokens[delivery.id]
            db.session.remove()
        assert "BODY-SETTINGS-7781" in recipient.get(f"/m/{token}").get_data(as_text=True)
        with app.app_context():
            status = db.session.get(Delivery, delivery_id).recipient_status
            db.session.remove()
        return status

    save(client, auth, read_status_mode="inbox_selection")
    assert direct_link_view("Under inbox_selection") is RecipientStatus.SENT
    save(client, auth, read_status_mode="content_viewed")
    assert direct_link_view("Under content_viewed") is RecipientStatus.READ
