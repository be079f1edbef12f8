"""Bugs the generated input found, each pinned by a plain test (both databases)."""
import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from portal.extensions import db
from portal.models import AuditLogEntry, SecureMessage
from portal.web.row_ids import MAX_ROW_ID
from tests.support.factories import csrf_token_from, send


def test_a_multipart_field_without_a_readable_name_is_refused(app, client):
    """werkzeug reads `name="\\"` as a field named None; the NUL guard raised TypeError (500)."""
    token = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", content_type="multipart/form-data", data=MultiDict(
        [("csrf_token", token), ("email", "a@example.com"), ("\\", "x")]))
    assert response.status_code == 400


@pytest.fixture
def ids(app, people):
    with app.app_context():
        message, _tokens = send(people["alice@example.com"], ["bob@partner.example"],
                                allow_reply=True)
        found = {"message_id": message.id, "delivery_id": message.deliveries[0].id,
                 "entry_id": db.session.scalar(select(AuditLogEntry.id)), "email_id": 1,
                 "user_id": people["bob@partner.example"].id}
        db.session.remove()
    return found


ROUTES_AND_AUDIENCES = [
    ("/inbox/{delivery_id}", "bob@partner.example"),
    ("/inbox/{delivery_id}/reply", "bob@partner.example"),
    ("/sent/{message_id}", "alice@example.com"),
    ("/admin/secure-messaging/messages/{message_id}", "full.admin@example.com"),
    ("/account/audit-logs/{entry_id}", "full.admin@example.com"),
]


@pytest.mark.parametrize("path, email", ROUTES_AND_AUDIENCES)
def test_an_id_beyond_any_row_is_not_found(app, auth, client, ids, path, email):
    """Past 64 bits SQLite raised OverflowError, past 32 bits PostgreSQL refused the
    integer: both were 500s. Now such a URL matches no route."""
    auth.sign_in(email)
    assert client.get(path.format(**ids)).status_code == 200
    for too_big in (MAX_ROW_ID + 1, 2**63, 10**20):
        big = {name: too_big for name in ids}
        assert client.get(path.format(**big)).status_code == 404, too_big
    assert client.get(path.format(**{name: MAX_ROW_ID for name in ids})).status_code == 404


def test_every_integer_in_a_route_is_a_bounded_row_id(app):
    for rule in app.url_map.iter_rules():
        for converter in rule._converters.values():
            if isinstance(converter, IntegerConverter):
                assert converter.max is not None and converter.max <= MAX_ROW_ID, rule.rule


@pytest.mark.parametrize("value", [str(MAX_ROW_ID + 1), str(2**63), "9" * 5000, "²", "١٢", "-1"])
def test_recall_refuses_ids_no_row_can_have(app, auth, client, ids, value):
    """`"²".isdigit()` is true but int() refuses it, and big numbers overflowed the
    database's integer: each was a 500 from the recall dialog and the recall itself."""
    auth.sign_in("full.admin@example.com")
    query = {"message_ids": [str(ids["message_id"]), value]}
    assert client.get("/admin/secure-messaging/recall", query_string=query).status_code == 400
    token = auth.csrf_token("/admin/secure-messaging")
    response = client.post("/admin/secure-messaging/recall",
                           data={**query, "csrf_token": token})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(SecureMessage, ids["message_id"]).recalled_at is None
        db.session.remove()


def test_a_nul_in_the_user_agent_is_recorded_without_it(app, client):
    """PostgreSQL cannot store NUL in text: a failed sign-in with one in its User-Agent
    (audited with the agent) was a 500 there."""
    token = csrf_token_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", headers={"User-Agent": "bot\x00/1.0"}, data={
        "email": "nobody@example.com", "password": "wrong", "csrf_token": token})
    assert response.status_code == 401
    with app.app_context():
        entry = db.session.scalars(select(AuditLogEntry)).one()
        assert entry.user_agent == "bot\ufffd/1.0"
        db.session.remove()
