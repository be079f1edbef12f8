"""The Dev mailbox: development only, shows each email with its message link."""
import re

import pytest
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import OutboxEmail
from tests.support.factories import send


@pytest.fixture
def dev_app(database_url, app):
    return create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": database_url,
                                         "DEV_MAILBOX": True})


def test_the_dev_mailbox_lists_each_email_with_its_link(dev_app, people):
    with dev_app.app_context():
        _, tokens = send(people["alice@example.com"], ["bob@partner.example",
                                                       "erin@partner.example"])
    html = dev_app.test_client().get("/dev/mailbox").get_data(as_text=True)
    assert html.count("Secure message from alice@example.com: Quarterly statement") == 2
    for token in tokens.values():
        assert f'href="http://portal.test/m/{token}">Open message</a>' in html


def test_there_is_no_dev_mailbox_unless_configured(client):
    assert client.get("/dev/mailbox").status_code == 404


def test_production_never_has_a_dev_mailbox():
    import config

    assert config.ProductionConfig.DEV_MAILBOX is False


HOSTILE_SUBJECT = ("Statement https://evil.example/m/abc http://portal.test.evil.example/m/abc "
                   "http://portal.test/m/abc@evil.example")


def test_only_the_portals_own_message_links_are_linked(dev_app, people):
    with dev_app.app_context():
        _, tokens = send(people["alice@example.com"], ["bob@partner.example"],
                         subject=HOSTILE_SUBJECT)
        email_id = db.session.scalar(select(OutboxEmail.id))
    (token,) = tokens.values()
    client = dev_app.test_client()
    for path in ("/dev/mailbox", f"/dev/mailbox/{email_id}"):
        html = client.get(path).get_data(as_text=True)
        links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>Open message</a>', html)
        assert links == [f"http://portal.test/m/{token}"]
        assert 'href="https://evil.example' not in html
        assert 'href="http://portal.test.evil.example' not in html
        assert 'href="http://portal.test/m/abc' not in html
