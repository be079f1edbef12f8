"""Migration 0008 seals the chain head of an existing database with the configured key."""
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from portal import create_app
from portal.audit.chain import verify_chain
from portal.audit.service import record_audit
from portal.extensions import db
from tests.support.factories import TEST_REQUEST

KEY = "an audit key kept apart from SECRET_KEY"


def test_the_existing_head_is_sealed_with_the_configured_key(databases, backend):
    url = databases.fresh_url(backend, "audit_head_seal")
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url, "AUDIT_HMAC_KEY": KEY})
    with app.app_context():
        upgrade()
        for n in range(4):
            record_audit("Account Logs", "Account - Test Entry", actor_email="qa@example.com",
                         request_info=TEST_REQUEST, details={"n": n})
            db.session.commit()
        db.session.remove()
        downgrade(revision="0007")  # a database from before the seal: entries, a bare head
        with db.engine.connect() as conn:
            columns = {row[1] if backend == "sqlite" else row[0] for row in conn.execute(text(
                "PRAGMA table_info(audit_chain_head)" if backend == "sqlite" else
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'audit_chain_head'"))}
        assert "seal" not in columns
        upgrade()
        report = verify_chain()
        assert report.ok and report.checked == 4
        db.session.remove()

    other = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url,
                                          "AUDIT_HMAC_KEY": "some other key"})
    with other.app_context():
        assert not verify_chain().ok  # sealed with the configured key, not any key
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        db.engine.dispose()
