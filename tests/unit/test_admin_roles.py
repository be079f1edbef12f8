"""Admin roles: granted, changed and removed by a Full Administrator, audited, and never
leaving the account without a Full Administrator."""
import threading

import pytest
from sqlalchemy import select

from portal.audit.catalogue import AUDIT_TYPES
from portal.extensions import db
from portal.identity import admin_roles as roles_module
from portal.identity.admin_roles import (
    LastFullAdministrator,
    NotInternal,
    change_admin_role,
    users_and_roles,
)
from portal.models import AdminRole, AuditCategory, AuditLogEntry, User
from tests.support.factories import TEST_REQUEST, make_user

CHANGED = "Account - Admin Role Changed"


@pytest.fixture
def full_admin(people):
    return people["full.admin@example.com"]


def role_entries():
    return db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.type == CHANGED)
                              .order_by(AuditLogEntry.id)).all()


def role_of(email):
    db.session.expire_all()
    return db.session.scalar(select(User.admin_role).where(User.email == email))


@pytest.mark.parametrize("email,new_role,old_role", [
    ("alice@example.com", AdminRole.BASIC, None),          # grant
    ("basic.admin@example.com", AdminRole.FULL, AdminRole.BASIC),  # change
    ("readonly.admin@example.com", None, AdminRole.READ_ONLY),  # remove
])
def test_a_change_is_saved_and_audited_with_old_and_new_role(people, full_admin, email,
                                                             new_role, old_role):
    target = people[email]
    change = change_admin_role(full_admin, target.id, new_role, TEST_REQUEST)
    assert change.changed
    assert (change.email, change.old_role, change.new_role) == (email, old_role, new_role)
    assert role_of(email) is new_role
    [entry] = role_entries()
    assert entry.category == "Account Logs"
    assert entry.details == {"user_id": target.id, "email": email,
                             "old_role": old_role.value if old_role else None,
                             "new_role": new_role.value if new_role else None}
    assert entry.actor_email == "full.admin@example.com"
    assert (entry.ip, entry.user_agent) == (TEST_REQUEST.ip, TEST_REQUEST.user_agent)


def test_a_role_may_be_named_by_its_value_and_an_unknown_one_is_refused(people, full_admin):
    alice = people["alice@example.com"]
    assert change_admin_role(full_admin, alice.id, "read_only", TEST_REQUEST).new_role \
        is AdminRole.READ_ONLY
    with pytest.raises(ValueError):
        change_admin_role(full_admin, alice.id, "owner", TEST_REQUEST)
    assert role_of("alice@example.com") is AdminRole.READ_ONLY
    assert len(role_entries()) == 1


def test_giving_the_role_someone_already_holds_writes_nothing(people, full_admin):
    change = change_admin_role(full_admin, people["basic.admin@example.com"].id, AdminRole.BASIC,
                               TEST_REQUEST)
    assert not change.changed
    change = change_admin_role(full_admin, people["alice@example.com"].id, None, TEST_REQUEST)
    assert not change.changed
    assert role_entries() == []


@pytest.mark.parametrize("new_role", [None, AdminRole.BASIC, AdminRole.READ_ONLY])
def test_the_last_full_administrator_cannot_be_removed_or_lowered(full_admin, new_role):
    with pytest.raises(LastFullAdministrator, match="last Full Administrator"):
        change_admin_role(full_admin, full_admin.id, new_role, TEST_REQUEST)
    assert role_of("full.admin@example.com") is AdminRole.FULL
    assert role_entries() == []


def test_with_two_full_administrators_one_may_go_but_not_the_other(people, full_admin):
    basic = people["basic.admin@example.com"]
    change_admin_role(full_admin, basic.id, AdminRole.FULL, TEST_REQUEST)
    # A Full admin may lower their own role while another Full admin remains.
    change_admin_role(full_admin, full_admin.id, AdminRole.READ_ONLY, TEST_REQUEST)
    assert role_of("full.admin@example.com") is AdminRole.READ_ONLY
    with pytest.raises(LastFullAdministrator):
        change_admin_role(basic, basic.id, None, TEST_REQUEST)
    assert role_of("basic.admin@example.com") is AdminRole.FULL
    assert len(role_entries()) == 2


@pytest.mark.parametrize("new_role", list(AdminRole))
def test_external_recipients_cannot_be_given_an_admin_role(people, full_admin, new_role):
    with pytest.raises(NotInternal, match="bob@partner.example is an external recipient"):
        change_admin_role(full_admin, people["bob@partner.example"].id, new_role, TEST_REQUEST)
    assert role_of("bob@partner.example") is None
    assert role_entries() == []


def test_an_unknown_user_is_a_lookup_error(full_admin):
    with pytest.raises(LookupError):
        change_admin_role(full_admin, 987654, AdminRole.BASIC, TEST_REQUEST)
    assert role_entries() == []


@pytest.mark.parametrize("email", ["basic.admin@example.com", "readonly.admin@example.com",
                                   "alice@example.com", "bob@partner.example"])
def test_only_a_full_administrator_may_change_roles(people, email):
    actor = people[email]
    with pytest.raises(PermissionError):
        change_admin_role(actor, people["dave@example.com"].id, AdminRole.FULL, TEST_REQUEST)
    assert role_of("dave@example.com") is None
    assert role_entries() == []


def test_the_change_and_its_audit_entry_commit_together(people, full_admin, monkeypatch):
    def failing_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(roles_module, "record_audit", failing_audit)
    with pytest.raises(RuntimeError):
        change_admin_role(full_admin, people["alice@example.com"].id, AdminRole.FULL,
                          TEST_REQUEST)
    assert role_of("alice@example.com") is None
    assert role_entries() == []


def test_two_full_administrators_demoting_each_other_at_once_leave_one(app, people, full_admin):
    change_admin_role(full_admin, people["basic.admin@example.com"].id, AdminRole.FULL,
                      TEST_REQUEST)
    ids = [people["full.admin@example.com"].id, people["basic.admin@example.com"].id]
    db.session.remove()
    start = threading.Barrier(2)
    outcomes = []

    def demote(actor_id, target_id):
        with app.app_context():
            try:
                actor = db.session.get(User, actor_id)
                start.wait(5)
                change_admin_role(actor, target_id, AdminRole.BASIC, TEST_REQUEST)
                outcomes.append("demoted")
            except LastFullAdministrator:
                outcomes.append("refused")
            except Exception as error:
                outcomes.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=demote, args=(ids[0], ids[1])),
               threading.Thread(target=demote, args=(ids[1], ids[0]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(map(str, outcomes)) == ["demoted", "refused"]
    full = db.session.scalars(select(User.email).where(User.admin_role == AdminRole.FULL)).all()
    assert len(full) == 1
    assert len(role_entries()) == 2  # the promotion and one demotion


def test_the_audit_logs_filter_offers_this_type_under_account_logs():
    assert CHANGED in AUDIT_TYPES[AuditCategory.ACCOUNT]


def test_the_list_puts_administrators_first_then_orders_by_email(people):
    emails = [u.email for u in users_and_roles("", 1, 100).items]
    assert emails[:3] == ["full.admin@example.com", "basic.admin@example.com",
                          "readonly.admin@example.com"]
    assert emails[3:] == sorted(emails[3:])
    assert "carol@partner.example" in emails  # everybody, registered or not


def test_the_list_filters_by_any_part_of_the_email_and_pages(people):
    assert [u.email for u in users_and_roles("  PARTNER ", 1, 100).items] == [
        "bob@partner.example", "carol@partner.example", "erin@partner.example"]
    # % and _ are taken literally, not as wildcards.
    assert users_and_roles("%", 1, 100).total == 0
    make_user("under_score@example.com", internal=True)
    assert [u.email for u in users_and_roles("_", 1, 100).items] == ["under_score@example.com"]
    first, second = users_and_roles("", 1, 4), users_and_roles("", 2, 4)
    assert first.total == second.total == 10
    assert not {u.id for u in first.items} & {u.id for u in second.items}
