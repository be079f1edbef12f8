"""Migration 0009 remembers the addresses people already got in from, so the upgrade
does not leave everyone open to being locked out by guessing until they sign in again."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, select

from portal import create_app
from portal.core.request_info import RequestInfo
from portal.demo.data import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.identity.sign_in import sign_in
from portal.identity.sign_in_addresses import is_known_sign_in_address
from portal.models import SignInAddress, UserSession, utcnow
from tests.support.factories import user_by_email

SECRET_KEY = "a secret key of this deployment, not the test one, 32+ bytes"
SESSION_ONLY, AUDIT_ONLY, FAILED_ONLY = "198.51.100.31", "203.0.113.32", "192.0.2.33"


def test_addresses_of_sessions_and_sign_in_entries_become_known(databases, backend):
    url = databases.fresh_url(backend, "sign_in_addresses_backfill")
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url,
                                        "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        upgrade()
        load_demo_data(message_count=0)
        # Bob signed in from AUDIT_ONLY; that session has since been deleted.
        assert sign_in("bob@partner.example", DEMO_PASSWORD,
                       RequestInfo(ip=AUDIT_ONLY, user_agent="pytest"))
        db.session.execute(delete(UserSession))
        # Alice has a session from SESSION_ONLY (and no audit entry says so).
        db.session.add(UserSession(user_id=user_by_email("alice@example.com").id,
                                   token_hash="0" * 64, created_at=utcnow(),
                                   last_seen_at=utcnow(), ip=SESSION_ONLY))
        # A wrong password from FAILED_ONLY is no sign of where Alice gets in from.
        assert sign_in("alice@example.com", "wrong", RequestInfo(ip=FAILED_ONLY)) is None
        db.session.commit()
        db.session.remove()
        downgrade(revision="0008")  # a database from before the table
        upgrade()
        assert is_known_sign_in_address("bob@partner.example", AUDIT_ONLY)
        assert is_known_sign_in_address("alice@example.com", SESSION_ONLY)
        assert not is_known_sign_in_address("alice@example.com", FAILED_ONLY)
        assert not is_known_sign_in_address("alice@example.com", AUDIT_ONLY)
        stored = db.session.scalars(select(SignInAddress.address_hash)).all()
        assert len(stored) == 2 and AUDIT_ONLY not in stored and SESSION_ONLY not in stored
        db.session.remove()
        db.engine.dispose()
