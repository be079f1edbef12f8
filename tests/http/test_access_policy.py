"""The access policy table against every route the app serves."""
import pytest

from portal import create_app
from portal.access import POLICY, rule_for
from portal.extensions import db
from portal.models import AdminRole
from tests.conftest import AuthActions
from tests.support.factories import csrf_token_from, send
from tests.support.headers import assert_security_headers

AUDIENCES = {
    "anonymous": None,
    "recipient": "bob@partner.example",
    "sender": "alice@example.com",
    "read_only_admin": "readonly.admin@example.com",
    "basic_admin": "basic.admin@example.com",
    "full_admin": "full.admin@example.com",
}

# Example values for URL parameters, by name, as routes gain them.
SAMPLE_ARGUMENTS = {"filename": "css/portal.css", "email_id": 1, "action": "reply"}

# What a person expects, written out independently of the policy table.
EXPECTED_ALLOWED = {
    "admin.secure_messaging": {"read_only_admin", "basic_admin", "full_admin"},
    "account.audit_logs": {"read_only_admin", "basic_admin", "full_admin"},
    "sender.sent_messages": {"sender"},
    "recipient.inbox": {"recipient", "sender"},
    "sender.compose": {"sender"},
    "sender.sent_message": {"sender"},
    "recipient.inbox_message": {"recipient", "sender"},
    "recipient.respond_to": {"recipient", "sender"},
    "recipient.open_link": set(AUDIENCES),
    "auth.register": set(AUDIENCES),
    "dev.mailbox": set(AUDIENCES),
    "admin.message_details_panel": {"read_only_admin", "basic_admin", "full_admin"},
    "admin.recall_confirm": {"basic_admin", "full_admin"},
    "admin.recall": {"basic_admin", "full_admin"},
    "account.settings_page": {"full_admin"},
    "account.save_settings": {"full_admin"},
    "account.administrators_page": {"full_admin"},
    "account.save_admin_role": {"full_admin"},
    "account.read_status_discrepancies": {"read_only_admin", "basic_admin", "full_admin"},
    "account.read_status_discrepancies_csv": {"read_only_admin", "basic_admin", "full_admin"},
}


@pytest.fixture
def app(database_url):
    """Every blueprint registered, the development-only Dev mailbox included."""
    from tests.support.databases import empty_all_tables

    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": database_url,
                                        "DEV_MAILBOX": True})
    yield app
    empty_all_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def sample_arguments(app, people):
    """A message from alice to bob, so routes about one message have one to name."""
    with app.app_context():
        message, tokens = send(people["alice@example.com"], ["bob@partner.example"],
                               allow_reply=True)
        delivery = message.deliveries[0]
        arguments = {**SAMPLE_ARGUMENTS, "message_id": message.id, "delivery_id": delivery.id,
                     "token": tokens[delivery.id]}
        db.session.remove()
    return arguments


def routes(app, arguments=SAMPLE_ARGUMENTS):
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in rule.methods else "POST"
        path = rule.build({name: arguments.get(name, 1) for name in rule.arguments})[1]
        yield rule.endpoint, method, path


def test_every_route_has_a_rule_and_every_rule_a_route(app):
    endpoints = {endpoint for endpoint, _, _ in routes(app)}
    assert all(rule_for(endpoint) is not None for endpoint in endpoints)
    blueprints = set(app.blueprints)
    stale = [key for key in POLICY if key not in endpoints and key not in blueprints]
    assert stale == []


def test_the_app_refuses_to_start_with_an_unlisted_route(app):
    from portal.access import check_every_endpoint_has_a_rule

    app.add_url_rule("/forgotten", "forgotten_page", lambda: "oops")
    with pytest.raises(RuntimeError, match="forgotten_page"):
        check_every_endpoint_has_a_rule(app)


def test_expectations_match_the_policy_table(app, people):
    with app.app_context():
        for endpoint, allowed in EXPECTED_ALLOWED.items():
            rule = rule_for(endpoint)
            for audience, email in AUDIENCES.items():
                user = people[email] if email else None
                permitted = rule.is_public or (user is not None and rule.allows(user))
                assert permitted == (audience in allowed), (endpoint, audience)


@pytest.mark.parametrize("audience", list(AUDIENCES))
def test_every_route_answers_as_the_table_says(app, people, client, auth, sample_arguments,
                                              audience):
    email = AUDIENCES[audience]
    if email:
        auth.sign_in(email)
    with app.app_context():
        user = people[email] if email else None
        expectations = [(endpoint, method, path, rule_for(endpoint),
                         rule_for(endpoint).allows(user) if user else False)
                        for endpoint, method, path in routes(app, sample_arguments)]
    for endpoint, method, path, rule, allowed in expectations:
        if method == "GET":
            response = client.get(path)
        else:
            token = csrf_token_from(client.get("/sign-in", follow_redirects=True)
                                    .get_data(as_text=True))
            response = client.post(path, data={"csrf_token": token})
        where = f"{audience} {method} {path}"
        assert_security_headers(response, where)
        if rule.is_public:
            assert response.status_code not in (401, 403), where
        elif user is None:
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/sign-in?next="), where
        elif allowed:
            # Past the guard: 404 where the item is someone else's (scoped, not
            # forbidden), 400 where the walk's empty form is refused as input.
            assert response.status_code in (200, 302, 400, 404), where
            assert not response.headers.get("Location", "").startswith("/sign-in?next"), where
        else:
            assert response.status_code == 403, (where, response.headers.get("Location"))
        if endpoint == "auth.sign_out_action" and user is not None:
            auth.sign_in(email)  # signing out was part of the walk; carry on signed in


def test_admin_roles_rank_in_order():
    assert AdminRole.READ_ONLY.rank < AdminRole.BASIC.rank < AdminRole.FULL.rank
