"""Configuration: production refuses to start without a secret."""
import pytest

import config
from portal import create_app


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(config.ConfigError, match="SECRET_KEY is not set"):
        create_app("production")


def test_production_starts_with_a_secret_key(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "x" * 64)
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEY_ID", "k1")
    app = create_app("production", overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_config_name_is_named_in_the_error():
    with pytest.raises(config.ConfigError, match="staging"):
        create_app("staging")


@pytest.mark.parametrize("key,value", [("SECURE_MESSAGING_EDITION", "Gold"),
                                       ("READ_STATUS_MODE", "whenever")])
def test_bad_seed_settings_are_refused(key, value):
    with pytest.raises(config.ConfigError, match=key):
        create_app("test", overrides={key: value})
