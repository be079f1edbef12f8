"""Compose: what a sender types, what is refused, and what is saved."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AccountSettings,
    AuditLogEntry,
    Delivery,
    OutboxEmail,
    SecureMessage,
    User,
)


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (SecureMessage, Delivery, OutboxEmail, AuditLogEntry, User))


def tomorrow_in(zone="Europe/London"):
    return (datetime.now(ZoneInfo(zone)) + timedelta(days=1)).date().isoformat()


def compose(client, auth, **fields):
    data = {"csrf_token": auth.csrf_token("/compose"), "to": "bob@partner.example",
            "cc": "", "subject": "Contract", "body": "Line one\nLine two",
            "expiry_date": tomorrow_in(), **fields}
    return client.post("/compose", data=data)


@pytest.fixture
def alice(people, auth):
    auth.sign_in("alice@example.com")
    return people


def test_compose_is_prefilled_from_the_secure_messaging_definition(app, alice, client):
    html = client.get("/compose").get_data(as_text=True)
    for label in ("To", "Cc", "Subject", "Body", "Expiry Date", "Allow reply", "Allow reply all",
                  "Allow forward", "Allow print", "Read receipt"):
        assert f">{label}</label>" in html
    assert ">Send</button>" in html
    in_30_days = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=30)).date()
    assert f'value="{in_30_days.isoformat()}"' in html
    assert "Europe/London" in html  # the sender's time zone is named beside the date
    # The definition's defaults: reply and print allowed, the rest not.
    for name in ("allow_reply", "allow_print"):
        assert f'<input checked id="{name}"' in html
    for name in ("allow_reply_all", "allow_forward", "read_receipt"):
        assert f'<input id="{name}"' in html


def test_sending_saves_everything_and_shows_the_message(app, alice, client, auth):
    response = compose(client, auth, to="bob@partner.example, New.Person@Elsewhere.example",
                       cc="bob@partner.example; dave@example.com", allow_reply="y",
                       read_receipt="y")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Secure message sent to 3 recipients." in page
    assert "bob@partner.example, new.person@elsewhere.example" in page
    with app.app_context():
        message = db.session.scalars(select(SecureMessage)).one()
        assert [d.recipient.email for d in message.deliveries] == [
            "bob@partner.example", "new.person@elsewhere.example", "dave@example.com"]
        assert message.allow_reply and message.read_receipt and not message.allow_forward
        # The chosen day ends at 23:59:59 in the sender's zone (Europe/London).
        local_end = message.expires_at.astimezone(ZoneInfo("Europe/London"))
        assert local_end.date() == date.fromisoformat(tomorrow_in())
        assert (local_end.hour, local_end.minute) == (23, 59)
        assert message.body == "Line one\nLine two"


@pytest.mark.parametrize("fields,field,text", [
    ({"to": ""}, "to", "Enter at least one recipient."),
    ({"to": "bob@partner.example, not-an-address"}, "to",
     "not-an-address is not a valid email address."),
    ({"cc": "bob@@partner"}, "cc", "bob@@partner is not a valid email address."),
    ({"to": "alice@example.com"}, "to", "You cannot send a secure message to yourself."),
    ({"to": "nobody@example.com"}, "to",
     "nobody@example.com is an internal address with no mailbox here."),
    ({"to": "full.admin@example.com"}, "to",
     "full.admin@example.com is an internal address with no mailbox here."),
    ({"subject": "   "}, "subject", "Enter a subject."),
    ({"subject": "x" * 256}, "subject", "Keep the subject to 255 characters or fewer."),
    ({"body": ""}, "body", "Enter the message."),
    ({"expiry_date": "2020-01-01"}, "expiry_date", "The expiry date must be today or later."),
    ({"expiry_date": "31/12/2030"}, "expiry_date", "Not a valid date value."),
])
def test_bad_input_is_refused_inline_and_saves_nothing(app, alice, client, auth, fields, field,
                                                       text):
    before = counts(app)
    response = compose(client, auth, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{text}' in html
    assert 'aria-describedby="' in html and 'aria-invalid="true"' in html
    assert "The message was not sent." in html
    assert counts(app) == before


def test_a_body_over_the_limit_is_refused(app, alice, client, auth):
    app.config["MESSAGE_BODY_MAX_CHARS"] = 20
    before = counts(app)
    response = compose(client, auth, body="x" * 21)
    assert "The message is too long: at most 20 characters (this one has 21)." in \
        response.get_data(as_text=True)
    assert counts(app) == before


def test_too_many_recipients_are_refused(app, alice, client, auth):
    app.config["MAX_RECIPIENTS"] = 2
    response = compose(client, auth, to="a@x.example, b@x.example, c@x.example")
    assert "Send to at most 2 recipients (To and Cc together)." in response.get_data(as_text=True)


def test_no_expiry_only_where_the_definition_allows_it(app, alice, client, auth):
    with app.app_context():
        db.session.get(AccountSettings, 1).allow_no_expiry = False
        db.session.commit()
    html = client.get("/compose").get_data(as_text=True)
    assert "No expiry" not in html
    before = counts(app)
    response = compose(client, auth, expiry_date="", no_expiry="y")
    assert "Choose an expiry date: every message must have one." in response.get_data(as_text=True)
    assert counts(app) == before

    with app.app_context():
        db.session.get(AccountSettings, 1).allow_no_expiry = True
        db.session.commit()
    assert compose(client, auth, expiry_date="", no_expiry="y").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(SecureMessage)).one().expires_at is None


def test_the_body_is_shown_as_text_never_as_html(app, alice, client, auth):
    response = compose(client, auth, body="<script>alert('x')</script>\n<b>bold</b>")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\n&lt;b&gt;bold&lt;/b&gt;" in html


def test_compose_without_csrf_token_saves_nothing(app, alice, client):
    before = counts(app)
    response = client.post("/compose", data={"to": "bob@partner.example", "subject": "x",
                                              "body": "y", "expiry_date": tomorrow_in()})
    assert response.status_code == 400
    assert counts(app) == before
