"""Changing the account settings: validated, applied at once, audited with old and new values."""
import pytest
from sqlalchemy import func, select

from portal import settings as settings_module
from portal.audit.catalogue import AUDIT_TYPES
from portal.extensions import db
from portal.messaging.reading import record_view
from portal.models import (
    AccountSettings,
    AuditCategory,
    AuditLogEntry,
    Edition,
    ReadStatusMode,
    RecipientStatus,
    ViewChannel,
)
from portal.settings import (
    CHANGEABLE,
    SettingsError,
    current_settings,
    update_account_settings,
)
from tests.support.factories import TEST_REQUEST, account_mode, make_user, send

CHANGED = "Account - Settings Changed"


@pytest.fixture
def full_admin(people):
    return people["full.admin@example.com"]


def settings_entries():
    return db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.type == CHANGED)
                              .order_by(AuditLogEntry.id)).all()


def stored_settings():
    """The row as the database holds it, not as this session remembers it."""
    db.session.expire_all()
    row = db.session.get(AccountSettings, AccountSettings.SINGLETON_ID)
    return {name: getattr(row, name) for name in CHANGEABLE}


def test_one_audit_entry_names_only_what_changed_with_old_and_new_values(full_admin):
    changed = update_account_settings(
        full_admin,
        {"edition": "Lite", "read_status_mode": ReadStatusMode.INBOX_SELECTION,
         "default_expiry_days": "  90 ", "default_allow_forward": True,
         "default_allow_reply": True,  # already True: not a change
         "time_zone": "Europe/London"},
        TEST_REQUEST)

    expected = {
        "edition": {"old": "Full", "new": "Lite"},
        "read_status_mode": {"old": "content_viewed", "new": "inbox_selection"},
        "default_expiry_days": {"old": 30, "new": 90},
        "default_allow_forward": {"old": False, "new": True},
        "time_zone": {"old": "UTC", "new": "Europe/London"},
    }
    assert changed == expected
    [entry] = settings_entries()
    assert entry.category == "Account Logs"
    assert entry.details == {"changes": expected}
    assert (entry.actor_id, entry.actor_email) == (full_admin.id, "full.admin@example.com")
    assert (entry.ip, entry.user_agent) == (TEST_REQUEST.ip, TEST_REQUEST.user_agent)
    stored = stored_settings()
    assert stored["edition"] is Edition.LITE
    assert stored["read_status_mode"] is ReadStatusMode.INBOX_SELECTION
    assert (stored["default_expiry_days"], stored["time_zone"]) == (90, "Europe/London")


def test_a_blank_default_expiry_means_none_and_is_audited_as_null(full_admin):
    changed = update_account_settings(full_admin, {"default_expiry_days": "  "}, TEST_REQUEST)
    assert changed == {"default_expiry_days": {"old": 30, "new": None}}
    assert stored_settings()["default_expiry_days"] is None
    assert settings_entries()[0].details["changes"]["default_expiry_days"]["new"] is None


def test_nothing_changed_writes_nothing(full_admin):
    before = stored_settings()
    assert update_account_settings(full_admin, dict(before), TEST_REQUEST) == {}
    assert update_account_settings(full_admin, {"edition": "Full", "default_expiry_days": "30"},
                                   TEST_REQUEST) == {}
    assert settings_entries() == []
    assert stored_settings() == before


@pytest.mark.parametrize("changes,field,message", [
    ({"edition": "Premium"}, "edition", "Choose Full or Lite."),
    ({"edition": None}, "edition", "Choose Full or Lite."),
    ({"read_status_mode": "on_open"}, "read_status_mode",
     "Choose content_viewed or inbox_selection."),
    ({"default_expiry_days": "0"}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": "3651"}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": "-5"}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": "1.5"}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": "thirty"}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": "\u0663\u0660"}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": "9" * 5000}, "default_expiry_days", "from 1 to 3650"),
    ({"default_expiry_days": True}, "default_expiry_days", "from 1 to 3650"),
    ({"time_zone": ""}, "time_zone", "Enter a time zone"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "is not a time zone name"),
    ({"time_zone": "europe/london"}, "time_zone", "is not a time zone name"),
    ({"time_zone": "../../etc/passwd"}, "time_zone", "is not a time zone name"),
    ({"time_zone": "Europe/" + "x" * 500}, "time_zone", "is not a time zone name"),
    ({"time_zone": 3}, "time_zone", "Enter a time zone"),
    ({"allow_no_expiry": "yes"}, "allow_no_expiry", "Choose yes or no."),
    ({"internal_domains": "evil.example"}, "internal_domains", "not a setting"),
])
def test_bad_values_are_refused_and_nothing_is_saved(full_admin, changes, field, message):
    before = stored_settings()
    # A good change beside the bad one is not saved either.
    with pytest.raises(SettingsError) as refused:
        update_account_settings(full_admin, {"edition": "Lite", **changes}, TEST_REQUEST)
    assert list(refused.value.errors) == [field]
    assert message in refused.value.errors[field]
    assert stored_settings() == before
    assert settings_entries() == []


def test_every_bad_value_is_reported_at_once(full_admin):
    with pytest.raises(SettingsError) as refused:
        update_account_settings(full_admin, {"edition": "x", "time_zone": "x",
                                             "default_expiry_days": "x"}, TEST_REQUEST)
    assert set(refused.value.errors) == {"edition", "time_zone", "default_expiry_days"}


@pytest.mark.parametrize("email", ["basic.admin@example.com", "readonly.admin@example.com",
                                   "alice@example.com", "bob@partner.example"])
def test_only_a_full_administrator_may_change_settings(people, email):
    before = stored_settings()
    with pytest.raises(PermissionError):
        update_account_settings(people[email], {"edition": "Lite"}, TEST_REQUEST)
    assert stored_settings() == before
    assert settings_entries() == []


def test_the_change_and_its_audit_entry_commit_together(full_admin, monkeypatch):
    before = stored_settings()

    def failing_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(settings_module, "record_audit", failing_audit)
    with pytest.raises(RuntimeError):
        update_account_settings(full_admin, {"edition": "Lite", "time_zone": "Asia/Tokyo"},
                                TEST_REQUEST)
    assert stored_settings() == before
    assert db.session.scalar(select(func.count()).select_from(AuditLogEntry)
                             .where(AuditLogEntry.type == CHANGED)) == 0


def test_the_settings_row_is_created_when_the_database_has_none(app):
    admin = make_user("only.admin@example.com", admin_role="full")
    assert db.session.get(AccountSettings, AccountSettings.SINGLETON_ID) is None
    changed = update_account_settings(admin, {"edition": "Lite"}, TEST_REQUEST)
    assert changed == {"edition": {"old": "Full", "new": "Lite"}}
    assert stored_settings()["edition"] is Edition.LITE


def test_the_audit_logs_filter_offers_this_type_under_account_logs():
    assert CHANGED in AUDIT_TYPES[AuditCategory.ACCOUNT]


def test_the_next_view_follows_a_new_read_status_mode(full_admin, people):
    alice, bob = people["alice@example.com"], people["bob@partner.example"]
    update_account_settings(full_admin, {"read_status_mode": "inbox_selection"}, TEST_REQUEST)
    assert current_settings().read_status_mode is ReadStatusMode.INBOX_SELECTION
    first, _ = send(alice, [bob.email], subject="First")
    record_view(bob, first.deliveries[0], ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    assert first.deliveries[0].recipient_status is RecipientStatus.SENT

    update_account_settings(full_admin, {"read_status_mode": "content_viewed"}, TEST_REQUEST)
    second, _ = send(alice, [bob.email], subject="Second")
    record_view(bob, second.deliveries[0], ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                request_info=TEST_REQUEST)
    assert second.deliveries[0].recipient_status is RecipientStatus.READ
