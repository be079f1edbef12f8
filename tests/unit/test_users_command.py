"""`flask users add`: the first administrator of a new installation."""
from sqlalchemy import select

from portal.audit.chain import verify_chain
from portal.extensions import db
from portal.identity.sign_in import sign_in
from portal.models import AdminRole, AuditLogEntry, User
from tests.support.factories import TEST_REQUEST


def test_adds_a_full_administrator_who_can_sign_in(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "add", "First.Admin@Example.com", "--admin-role", "full",
        "--password", "a long first password"])
    assert result.exit_code == 0, result.output
    assert "Added first.admin@example.com (Full Administrator)." in result.output
    user = db.session.scalar(select(User).where(User.email == "first.admin@example.com"))
    assert user.admin_role is AdminRole.FULL and user.is_internal
    assert sign_in("first.admin@example.com", "a long first password", TEST_REQUEST)
    entry = db.session.scalars(select(AuditLogEntry).where(
        AuditLogEntry.type == "Account - User Created")).one()
    assert entry.details["email"] == "first.admin@example.com"
    assert verify_chain().ok


def test_refuses_a_short_password_and_an_existing_address(app, people):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "add", "x@example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    taken = runner.invoke(args=["users", "add", "alice@example.com",
                                "--password", "a long enough password"])
    assert taken.exit_code != 0 and "already has an account" in taken.output
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is None
