"""Server-side sessions: signing in opens one, signing out ends it for good."""
from sqlalchemy import select

from portal.extensions import db
from portal.identity.sessions import resume_session, sign_out
from portal.identity.sign_in import sign_in
from portal.models import AccessEvidence, AuditLogEntry, EvidenceKind, UserSession
from tests.support.factories import TEST_REQUEST


def test_sign_in_opens_a_session_that_sign_out_ends(people):
    user, token = sign_in("Bob@Partner.example ", "portal-demo-password", TEST_REQUEST)
    assert user.email == "bob@partner.example"
    assert resume_session(str(user.id), token) == user
    stored = db.session.scalars(select(UserSession)).one()
    assert stored.token_hash != token and len(stored.token_hash) == 64

    sign_out(user, token, TEST_REQUEST)
    assert resume_session(str(user.id), token) is None
    assert resume_session(str(user.id), "guessed") is None


def test_a_recipient_sign_in_is_recorded_as_portal_logon_evidence(people):
    sign_in("bob@partner.example", "portal-demo-password", TEST_REQUEST)
    sign_in("full.admin@example.com", "portal-demo-password", TEST_REQUEST)
    logons = db.session.scalars(select(AccessEvidence)
                                .where(AccessEvidence.kind == EvidenceKind.PORTAL_LOGON)).all()
    assert [e.user.email for e in logons] == ["bob@partner.example"]
    assert logons[0].ip == TEST_REQUEST.ip


def test_a_session_token_of_another_user_is_refused(people):
    bob, token = sign_in("bob@partner.example", "portal-demo-password", TEST_REQUEST)
    erin = people["erin@partner.example"]
    assert resume_session(str(erin.id), token) is None
    assert resume_session("not-a-number", token) is None


def test_sign_out_is_audited(people):
    user, token = sign_in("bob@partner.example", "portal-demo-password", TEST_REQUEST)
    sign_out(user, token, TEST_REQUEST)
    types = db.session.scalars(select(AuditLogEntry.type).order_by(AuditLogEntry.id)).all()
    assert types == ["Authentication - Signed In", "Authentication - Signed Out"]
