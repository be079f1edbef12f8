"""The Dev mailbox: development only, shows each email with its links."""
import pytest

from portal import create_app
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
