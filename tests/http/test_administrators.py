"""Account > Administrators over HTTP: the list, role changes, their rules, and who may."""
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AdminRole, AuditLogEntry, User
from tests.conftest import AuthActions
from tests.support.factories import make_user, user_by_email

ADMINISTRATORS = "/account/administrators"
CHANGED = "Account - Admin Role Changed"
NOT_FULL = ["readonly.admin@example.com", "basic.admin@example.com", "alice@example.com",
            "bob@partner.example"]


def user_id(app, email):
    with app.app_context():
        found = user_by_email(email).id
        db.session.remove()
    return found


def roles(app):
    with app.app_context():
        found = dict(db.session.execute(select(User.email, User.admin_role)).all())
        db.session.remove()
    return found


def audit_entries(app):
    with app.app_context():
        entries = [(e.category, e.actor_email, e.details) for e in db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.type == CHANGED).order_by(AuditLogEntry.id))]
        db.session.remove()
    return entries


def post_role(client, auth, app, email, role, **extra):
    data = {"csrf_token": auth.csrf_token(ADMINISTRATORS), "admin_role": role, **extra}
    return client.post(f"{ADMINISTRATORS}/{user_id(app, email)}/role",
                       data={k: v for k, v in data.items() if v is not None})


def notices(html):
    return [unescape(text) for text in re.findall(r'<p class="notice" role="status">(.*?)</p>',
                                                    html)]


def listed_emails(html):
    return re.findall(r'<tr id="user-\d+"[^>]*>\s*<td>([^<]+?)(?: <span|</td>)', html)


def row(html, app, email):
    match = re.search(rf'<tr id="user-{user_id(app, email)}".*?</tr>', html, re.DOTALL)
    assert match, f"no row for {email}"
    return match.group(0)


@pytest.fixture
def full_admin(people, auth):
    auth.sign_in("full.admin@example.com")
    return people


def test_the_list_shows_every_user_with_their_role_admins_first(app, full_admin, client):
    response = client.get(ADMINISTRATORS)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Administrators</h1>" in html
    assert '<th scope="col">Admin role</th>' in html
    assert listed_emails(html)[:3] == ["full.admin@example.com", "basic.admin@example.com",
                                       "readonly.admin@example.com"]
    assert len(listed_emails(html)) == 9
    full_row = row(html, app, "full.admin@example.com")
    assert "(you)" in full_row and "Full Administrator" in full_row
    # Every internal user gets a labelled role control with a Save button.
    alice = row(html, app, "alice@example.com")
    alice_id = user_id(app, "alice@example.com")
    assert f'<label for="role-{alice_id}" class="visually-hidden">Admin role for ' \
           'alice@example.com</label>' in alice
    assert re.search(r'<option value="none"\s+selected>No admin role</option>', alice)
    assert f'action="/account/administrators/{alice_id}/role"' in alice
    assert 'name="csrf_token"' in alice
    for label in ("Read Only Administrator", "Basic Administrator", "Full Administrator"):
        assert f">{label}</option>" in alice
    # External recipients get no control, and a reason.
    bob = row(html, app, "bob@partner.example")
    assert "<select" not in bob and "External recipients cannot be administrators." in bob


def test_the_list_filters_by_email_text_and_pages(app, full_admin, client):
    html = client.get(f"{ADMINISTRATORS}?q=PARTNER").get_data(as_text=True)
    assert listed_emails(html) == ["bob@partner.example", "carol@partner.example",
                                   "erin@partner.example"]
    assert 'value="PARTNER"' in html
    # The filter is carried through each row's form, so a change comes back to the same list.
    html = client.get(f"{ADMINISTRATORS}?q=admin").get_data(as_text=True)
    assert '<input type="hidden" name="q" value="admin">' in html
    assert "No users match this filter." in client.get(
        f"{ADMINISTRATORS}?q=nobody-at-all").get_data(as_text=True)

    app.config["PAGE_SIZE"] = 4
    first = client.get(ADMINISTRATORS).get_data(as_text=True)
    third = client.get(f"{ADMINISTRATORS}?page=3").get_data(as_text=True)
    assert len(listed_emails(first)) == 4 and len(listed_emails(third)) == 1
    assert "Page 1 of 3 · 9 in all" in first
    assert 'href="/account/administrators?page=2"' in first


@pytest.mark.parametrize("query", ["?page=abc", "?page=-1", "?page=99999999", "?q=%25",
                                   "?q=" + "x" * 5000, "?q=%3Cb%3E"])
def test_odd_list_arguments_never_break_the_page(full_admin, client, query):
    response = client.get(ADMINISTRATORS + query)
    assert response.status_code == 200
    assert "<b>" not in response.get_data(as_text=True).split("<main", 1)[1]


@pytest.mark.parametrize("email,role,old,new,outcome", [
    ("alice@example.com", "basic", None, AdminRole.BASIC,
     "alice@example.com is now a Basic Administrator."),
    ("basic.admin@example.com", "full", AdminRole.BASIC, AdminRole.FULL,
     "basic.admin@example.com is now a Full Administrator."),
    ("readonly.admin@example.com", "none", AdminRole.READ_ONLY, None,
     "readonly.admin@example.com no longer has an admin role."),
])
def test_a_full_admin_grants_changes_and_removes_roles(app, full_admin, client, auth, email, role,
                                                       old, new, outcome):
    response = post_role(client, auth, app, email, role, q="example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{ADMINISTRATORS}?q=example.com"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert notices(html) == [outcome]
    assert roles(app)[email] is new
    assert audit_entries(app) == [("Account Logs", "full.admin@example.com", {
        "user_id": user_id(app, email), "email": email,
        "old_role": old.value if old else None, "new_role": new.value if new else None})]


def test_the_same_role_again_changes_nothing_and_says_so(app, full_admin, client, auth):
    response = post_role(client, auth, app, "basic.admin@example.com", "basic")
    assert response.status_code == 302
    assert notices(client.get(ADMINISTRATORS).get_data(as_text=True)) == [
        "Nothing changed: basic.admin@example.com is already a Basic Administrator."]
    assert audit_entries(app) == []


@pytest.mark.parametrize("role", ["none", "basic", "read_only"])
def test_the_last_full_administrator_cannot_be_removed_or_lowered(app, full_admin, client, auth,
                                                                  role):
    before = roles(app)
    response = post_role(client, auth, app, "full.admin@example.com", role)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    text = ("full.admin@example.com is the last Full Administrator, so the role cannot be "
            "removed or lowered. Make someone else a Full Administrator first.")
    assert '<div class="error" role="alert" id="role-problem">' in html and text in html
    full_id = user_id(app, "full.admin@example.com")
    assert f'<p class="field-error" id="role-{full_id}-error">{text}</p>' in html
    assert f'aria-invalid="true" aria-describedby="role-{full_id}-error"' in html
    assert roles(app) == before
    assert audit_entries(app) == []


def test_an_external_recipient_cannot_be_given_an_admin_role(app, full_admin, client, auth):
    before = roles(app)
    response = post_role(client, auth, app, "bob@partner.example", "read_only")
    assert response.status_code == 400
    assert ("bob@partner.example is an external recipient. Only internal users can be given "
            "an admin role.") in response.get_data(as_text=True)
    assert roles(app) == before
    assert audit_entries(app) == []


@pytest.mark.parametrize("role", [None, "", "owner", "FULL", "full\u200b"])
def test_a_role_not_in_the_list_answers_400_and_changes_nothing(app, full_admin, client, auth,
                                                                role):
    before = roles(app)
    response = post_role(client, auth, app, "alice@example.com", role)
    assert response.status_code == 400
    assert "Choose a role from the list." in response.get_data(as_text=True)
    assert roles(app) == before
    assert audit_entries(app) == []


@pytest.mark.parametrize("user_id_text", ["987654", "2147483648", "9" * 30, "-1", "abc"])
def test_an_unknown_user_is_404(app, full_admin, client, auth, user_id_text):
    response = client.post(f"{ADMINISTRATORS}/{user_id_text}/role",
                           data={"csrf_token": auth.csrf_token(ADMINISTRATORS),
                                 "admin_role": "basic"})
    assert response.status_code == 404
    assert audit_entries(app) == []


def test_a_post_without_a_csrf_token_answers_400_and_changes_nothing(app, full_admin, client):
    before = roles(app)
    response = client.post(f"{ADMINISTRATORS}/{user_id(app, 'alice@example.com')}/role",
                           data={"admin_role": "full"})
    assert response.status_code == 400
    assert roles(app) == before
    assert audit_entries(app) == []


@pytest.mark.parametrize("email", NOT_FULL)
def test_everyone_but_a_full_admin_is_refused_the_list_and_the_change(app, people, client, auth,
                                                                       email):
    auth.sign_in(email)
    before = roles(app)
    assert client.get(ADMINISTRATORS).status_code == 403
    token = auth.csrf_token("/")
    for target in ("alice@example.com", email):  # not even their own role
        response = client.post(f"{ADMINISTRATORS}/{user_id(app, target)}/role",
                               data={"csrf_token": token, "admin_role": "full"})
        assert response.status_code == 403
    assert roles(app) == before
    assert audit_entries(app) == []


def test_a_removed_admin_loses_admin_rights_on_their_next_request(app, full_admin, client, auth):
    # A second Full admin and a Basic admin, each signed in at their own browser.
    with app.app_context():
        make_user("second.full@example.com", admin_role="full")
        db.session.remove()
    basic, second = app.test_client(), app.test_client()
    AuthActions(basic).sign_in("basic.admin@example.com")
    AuthActions(second).sign_in("second.full@example.com")
    assert basic.get("/admin/secure-messaging").status_code == 200
    assert second.get("/account/settings").status_code == 200

    post_role(client, auth, app, "basic.admin@example.com", "none")
    post_role(client, auth, app, "second.full@example.com", "read_only")

    # The same sessions, their very next requests.
    assert basic.get("/admin/secure-messaging").status_code == 403
    assert basic.get("/account/audit-logs").status_code == 403
    assert second.get("/account/settings").status_code == 403
    assert second.get(ADMINISTRATORS).status_code == 403
    assert second.get("/admin/secure-messaging").status_code == 200  # Read Only still may
    # The removed admin is now an internal sender, and the navigation says so.
    html = basic.get("/compose").get_data(as_text=True)
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert ">Compose<" in nav and "Email Delivery" not in nav


def test_a_full_admin_who_lowers_their_own_role_is_sent_home(app, full_admin, client, auth):
    post_role(client, auth, app, "basic.admin@example.com", "full")
    response = post_role(client, auth, app, "full.admin@example.com", "basic")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get(ADMINISTRATORS).status_code == 403
    assert client.get("/admin/secure-messaging").status_code == 200
    assert roles(app)["full.admin@example.com"] is AdminRole.BASIC
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)
                                 .where(User.admin_role == AdminRole.FULL)) == 1
        db.session.remove()
