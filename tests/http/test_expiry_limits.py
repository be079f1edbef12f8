"""Dates at the edge of the calendar: refused with a message where typed, shown where stored.

9999-12-31 ends after the last moment Python's datetime can hold once it is
moved to UTC from a zone behind it (or shown in a zone ahead of it). Every
date a person types is capped at 9998-12-31, and a time already stored that
far out is shown in UTC rather than breaking the page or the email.
"""
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.core.times import format_date, format_datetime, zone_for
from portal.extensions import db
from portal.models import OutboxEmail, SecureMessage, User
from portal.settings import current_settings
from tests.support.factories import csrf_token_from, send

LAST_MOMENT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def set_zone(app, email, zone):
    with app.app_context():
        db.session.scalar(select(User).where(User.email == email)).time_zone = zone
        db.session.commit()
        db.session.remove()


def messages(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SecureMessage))


def compose(client, **fields):
    token = csrf_token_from(client.get("/compose").get_data(as_text=True))
    return client.post("/compose", data={
        "csrf_token": token, "to": "bob@partner.example", "subject": "Far away",
        "body": "Hello", **fields})


@pytest.mark.parametrize("zone", ["America/New_York", "UTC", "Pacific/Kiritimati"])
def test_an_expiry_past_9998_is_refused_on_the_form(app, people, auth, client, zone):
    set_zone(app, "alice@example.com", zone)
    auth.sign_in("alice@example.com")
    response = compose(client, expiry_date="9999-12-31")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert ('<p class="field-error" id="expiry_date-error">'
            "Choose an expiry date on or before 31 Dec 9998.") in html
    assert messages(app) == 0


@pytest.mark.parametrize("sender_zone,recipient_zone", [
    ("America/New_York", "Europe/Berlin"),
    ("Etc/GMT+12", "Pacific/Kiritimati"),
])
def test_the_last_allowed_day_works_in_every_zone(app, people, auth, client, sender_zone,
                                                  recipient_zone):
    set_zone(app, "alice@example.com", sender_zone)
    set_zone(app, "bob@partner.example", recipient_zone)
    auth.sign_in("alice@example.com")
    response = compose(client, expiry_date="9998-12-31")
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200
    with app.app_context():
        email = db.session.scalar(select(OutboxEmail))
        assert "Available until: " in email.text_body and "9999" in email.text_body


def test_the_service_refuses_an_expiry_beyond_the_cap(app, people):
    from portal.messaging.sending import DraftError

    set_zone(app, "bob@partner.example", "Europe/Berlin")
    with app.app_context():
        with pytest.raises(DraftError) as refused:
            _send_until(people, LAST_MOMENT)
        assert refused.value.errors == {
            "expires_at": "Choose an expiry date on or before 31 Dec 9998."}
        db.session.rollback()
    assert messages(app) == 0


def _send_until(people, expires_at):
    from portal.messaging.sending import MessageDraft, send_message
    from tests.support.factories import TEST_REQUEST

    draft = MessageDraft(to=["bob@partner.example"], subject="Far", body="Hello",
                         expires_at=expires_at)
    return send_message(people["alice@example.com"], draft, settings=current_settings(),
                        request_info=TEST_REQUEST)


def test_a_stored_time_at_the_end_of_the_calendar_is_shown_not_a_server_error(
        app, people, auth, client):
    """A value written before the cap (or by hand) still renders, in UTC."""
    with app.app_context():
        message, _ = send(people["alice@example.com"], ["bob@partner.example"])
        message.expires_at = LAST_MOMENT
        db.session.commit()
        message_id, delivery_id = message.id, message.deliveries[0].id
        db.session.remove()
    set_zone(app, "alice@example.com", "Europe/Berlin")
    set_zone(app, "bob@partner.example", "Asia/Tokyo")
    auth.sign_in("alice@example.com")
    page = client.get(f"/sent/{message_id}")
    assert page.status_code == 200
    assert "31 Dec 9999 23:59 UTC" in page.get_data(as_text=True)
    assert client.get("/sent").status_code == 200
    auth.sign_out()
    auth.sign_in("bob@partner.example")
    assert client.get("/inbox").status_code == 200
    assert client.get(f"/inbox/{delivery_id}").status_code == 200


def test_formatting_falls_back_to_utc_at_the_end_of_the_calendar():
    berlin = zone_for("Europe/Berlin")
    assert format_datetime(LAST_MOMENT, berlin) == "31 Dec 9999 23:59 UTC"
    assert format_date(LAST_MOMENT, berlin) == "31 Dec 9999 UTC"
    early = datetime(1, 1, 1, 0, 30, tzinfo=UTC)
    assert format_datetime(early, zone_for("America/New_York")).endswith("00:30 UTC")


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize("path,query", [
    ("/account/audit-logs", "start=9998-12-31&end=9998-12-31"),
    ("/account/audit-logs", "start=0001-01-01&end=9999-12-31"),
    ("/admin/secure-messaging", "range=custom&start=9998-12-31&end=9998-12-31"),
])
def test_other_date_filters_at_the_edges_never_overflow(app, people, auth, client, zone, path,
                                                        query):
    set_zone(app, "full.admin@example.com", zone)
    auth.sign_in("full.admin@example.com")
    response = client.get(f"{path}?{query}")
    assert response.status_code in (200, 400)
