"""Account > Audit Logs: filters, one entry's every field, chain status, CSV export."""
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.service import record_audit
from portal.extensions import db
from portal.messaging.reading import record_view
from portal.messaging.recall import recall_messages
from portal.models import AuditLogEntry, RecallSource, ViewChannel, utcnow
from tests.support.audit_tamper import TAMPERINGS, tamper_truncate, write_entries
from tests.support.factories import TEST_REQUEST, account_mode, send

LOGS = "/account/audit-logs"
EXPORT = f"{LOGS}/export.csv"


def post_export(client, auth, **filters):
    """Press Export CSV on the Audit Logs page: a POST of the applied filter."""
    return client.post(EXPORT, data={"csrf_token": auth.csrf_token(LOGS), **filters})


def exports_audited(app):
    with app.app_context():
        entries = db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type == "Account - Audit Log Exported")).all()
        db.session.remove()
    return entries


@pytest.fixture
def history(app, people):
    """alice sends twice; bob reads one via the link; the Basic admin recalls it."""
    with app.app_context():
        alice, admin = people["alice@example.com"], people["basic.admin@example.com"]
        first, _ = send(alice, ["bob@partner.example", "erin@partner.example"],
                        subject="Board pack", now=utcnow() - timedelta(days=3))
        send(alice, ["frank@client.example"], subject="Invoice 4471")
        bob = first.deliveries[0]
        record_view(bob.recipient, bob, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST)
        recall_messages(admin, [first.id], source=RecallSource.ADMIN,
                        reason="Sent to the wrong client", request_info=TEST_REQUEST)
        entry_id = db.session.scalars(select(AuditLogEntry.id).where(
            AuditLogEntry.type == "Secure Messaging - Admin Recalled")).one()
        db.session.remove()
    return entry_id


def types_listed(html):
    body = html.split('id="audit-results"', 1)[1].split("</table>", 1)[0]
    return [cell.split("</td>")[0] for cell in body.split("<td>")[3::5]]


@pytest.mark.parametrize("query,expected", [
    ("category=Secure+Messaging+Logs", {"Secure Messaging - Sent", "Secure Messaging - Admin Recalled"}),
    ("category=Secure+Messaging+Logs&type=Secure+Messaging+-+Admin+Recalled",
     {"Secure Messaging - Admin Recalled"}),
    ("type=Secure+Messaging+-+Sent", {"Secure Messaging - Sent"}),
    ("actor=basic.admin", {"Secure Messaging - Admin Recalled", "Authentication - Signed In"}),
    ("q=wrong+client", {"Secure Messaging - Admin Recalled"}),
    ("q=Invoice+4471", {"Secure Messaging - Sent"}),
])
def test_filters_narrow_the_list(people, auth, client, history, query, expected):
    auth.sign_in("readonly.admin@example.com") if "actor" not in query else \
        auth.sign_in("basic.admin@example.com")
    response = client.get(f"{LOGS}?{query}")
    assert response.status_code == 200
    assert set(types_listed(response.get_data(as_text=True))) == expected


def test_a_date_range_keeps_only_those_days(app, people, auth, client, history):
    auth.sign_in("readonly.admin@example.com")
    today = utcnow().date()
    earlier = (today - timedelta(days=3)).isoformat()
    html = client.get(f"{LOGS}?start={earlier}&end={earlier}").get_data(as_text=True)
    assert types_listed(html) == ["Secure Messaging - Sent"]
    html = client.get(f"{LOGS}?start={today.isoformat()}").get_data(as_text=True)
    assert "Secure Messaging - Admin Recalled" in types_listed(html)


@pytest.mark.parametrize("query,field,text", [
    ("category=Nonsense", "category", "Choose a category from the list."),
    ("category=Account+Logs&type=Secure+Messaging+-+Sent", "type",
     "Choose a type within the chosen category."),
    ("type=Made+Up", "type", "Choose a type from the list."),
    ("start=yesterday", "start", "The From date is not a date (use YYYY-MM-DD)."),
    ("start=2026-05-02&end=2026-05-01", "end", "The To date must be on or after the From date."),
])
def test_a_bad_filter_is_refused_inline(people, auth, client, query, field, text):
    auth.sign_in("readonly.admin@example.com")
    response = client.get(f"{LOGS}?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{text}</p>' in html
    assert "The filter was not applied." in html
    assert "Export CSV" not in html
    filters = dict(pair.split("=") for pair in query.replace("+", " ").split("&"))
    refused = post_export(client, auth, **filters)
    assert refused.status_code == 400
    assert "The filter was not applied." in refused.get_data(as_text=True)


def test_newest_first_and_paginated(app, people, auth, client):
    app.config["PAGE_SIZE"] = 3
    with app.app_context():
        write_entries(7)
    auth.sign_in("readonly.admin@example.com")  # one more entry: 8 in all
    first = client.get(LOGS).get_data(as_text=True)
    assert "8 entries · page 1 of 3" in first
    assert types_listed(first)[0] == "Authentication - Signed In"
    last = client.get(f"{LOGS}?page=3").get_data(as_text=True)
    assert "page 3 of 3" in last and len(types_listed(last)) == 2
    assert "page 3 of 3" in client.get(f"{LOGS}?page=99").get_data(as_text=True)


def test_an_entry_shows_every_field_and_the_recall(people, auth, client, history):
    auth.sign_in("readonly.admin@example.com")
    html = client.get(f"{LOGS}/{history}").get_data(as_text=True)
    panel = html.split('id="entry-panel"', 1)[1]
    for label in ("Date/Time", "Category", "Type", "Actor", "IP", "User agent", "Entry hash"):
        assert f"<dt>{label}</dt>" in panel
    assert "basic.admin@example.com" in panel and "203.0.113.5" in panel and "pytest" in panel
    assert "Board pack" in panel and "Sent to the wrong client" in panel
    recipients = panel.split('id="entry-recipients"', 1)[1].split("</table>", 1)[0]
    assert "<td>bob@partner.example</td><td>Read</td><td>Yes</td>" in recipients
    assert "<td>erin@partner.example</td><td>Sent</td><td>No</td>" in recipients


def test_an_entry_as_an_htmx_fragment(people, auth, client, history):
    auth.sign_in("readonly.admin@example.com")
    response = client.get(f"{LOGS}/{history}", headers={"HX-Request": "true",
                                                        "HX-Target": "entry-panel"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Sent to the wrong client" in html
    assert "HX-Request" in response.headers["Vary"]
    assert client.get(f"{LOGS}/999999").status_code == 404


def test_the_export_button_posts_the_applied_filter(people, auth, client, history):
    auth.sign_in("readonly.admin@example.com")
    html = client.get(f"{LOGS}?category=Secure+Messaging+Logs&q=wrong+client&page=2") \
        .get_data(as_text=True)
    form = html.split('id="export-form"', 1)[1].split("</form>", 1)[0]
    assert '<button type="submit" form="export-form">Export CSV</button>' in html
    assert 'method="post" action="/account/audit-logs/export.csv"' in html
    assert 'name="csrf_token"' in form
    assert '<input type="hidden" name="category" value="Secure Messaging Logs">' in form
    assert '<input type="hidden" name="q" value="wrong client">' in form
    assert 'name="page"' not in form  # the export is the whole filter, not one page


def test_the_export_streams_the_filter_and_is_audited(app, people, auth, client, history):
    auth.sign_in("readonly.admin@example.com")
    response = post_export(client, auth, category="Secure Messaging Logs",
                           type="Secure Messaging - Admin Recalled")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit-logs.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Date/Time (UTC)", "Category", "Type"]
    assert len(rows) == 2 and rows[1][2] == "Secure Messaging - Admin Recalled"
    assert int(rows[1][7]) == history and "Sent to the wrong client" in rows[1][6]
    with app.app_context():
        exported = db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type == "Account - Audit Log Exported")).one()
        assert exported.actor_email == "readonly.admin@example.com"
        assert exported.details["filter"]["type"] == "Secure Messaging - Admin Recalled"


@pytest.mark.parametrize("how", ["a link (GET)", "a form without the CSRF token"])
def test_an_export_from_a_crafted_link_or_form_writes_nothing(app, people, auth, client,
                                                             history, how):
    """Replaces the old GET export: a third party's link or form must not write an
    audit entry in the admin's name, nor get the file."""
    auth.sign_in("readonly.admin@example.com")
    if how == "a link (GET)":
        response = client.get(f"{EXPORT}?category=Secure+Messaging+Logs")
        assert response.status_code == 405
    else:
        response = client.post(EXPORT, data={"category": "Secure Messaging Logs"})
        assert response.status_code == 400
    assert response.mimetype != "text/csv"
    assert exports_audited(app) == []


@pytest.mark.parametrize("actor", [
    '=HYPERLINK("http://evil.example")',
    "x;=cmd|' /C calc'!A0",
    "x,@SUM(1+1)*cmd|' /C calc'!A0",
])
def test_the_export_defuses_spreadsheet_formulas(app, people, auth, client, actor):
    with app.app_context():
        record_audit("Account Logs", "Account - Settings Changed", actor_email=actor,
                     request_info=TEST_REQUEST)
        db.session.commit()
    auth.sign_in("readonly.admin@example.com")
    body = post_export(client, auth, actor=actor).get_data(as_text=True)
    quoted = actor.replace('"', '""')
    assert f'"\'{quoted}"' in body  # quoted, behind a single quote
    [row] = [r for r in csv.reader(io.StringIO(body)) if r[3].endswith(actor)]
    assert row[3] == "'" + actor


def test_the_page_says_the_chain_verifies(people, auth, client, history):
    auth.sign_in("readonly.admin@example.com")
    page = client.get(LOGS).get_data(as_text=True)
    assert 'hx-get="/account/audit-logs/chain" hx-trigger="load"' in page
    status = client.get(f"{LOGS}/chain").get_data(as_text=True)
    assert "Audit chain verified:" in status and "unbroken" in status


@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_the_page_shows_each_kind_of_tampering(app, people, auth, client, kind):
    auth.sign_in("readonly.admin@example.com")
    with app.app_context():
        write_entries(8)
        bad_id, words = TAMPERINGS[kind]()
        db.session.remove()
    status = client.get(f"{LOGS}/chain").get_data(as_text=True)
    assert "Audit chain broken:" in status
    assert f"entry {bad_id}" in status and words in status


def test_the_page_shows_that_the_newest_entries_were_cut_off(app, people, auth, client):
    with app.app_context():
        write_entries(8)
        tamper_truncate(keep=5)
        db.session.remove()
    auth.sign_in("readonly.admin@example.com")  # appended after the cut, on the rolled-back head
    status = client.get(f"{LOGS}/chain").get_data(as_text=True)
    assert "Audit chain broken:" in status
    assert "seal does not match" in status and "newest entries may have been deleted" in status


def test_a_planted_entry_does_not_stop_the_portal_writing_its_log(app, people, auth, client):
    with app.app_context():
        write_entries(8)
        bad_id, _ = TAMPERINGS["insert"]()
        db.session.remove()
    assert auth.sign_in("readonly.admin@example.com").status_code == 302  # audited sign-in
    status = client.get(f"{LOGS}/chain").get_data(as_text=True)
    assert "Audit chain broken:" in status and f"entry {bad_id}" in status
