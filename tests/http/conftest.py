"""Fixtures for the HTTP ring."""
import pytest

from portal.extensions import db


@pytest.fixture
def admin(app, people, auth):
    """Signs in an administrator (Full unless told), optionally in another time zone."""

    def sign_in(email="full.admin@example.com", time_zone=None):
        if time_zone:
            with app.app_context():
                people[email].time_zone = time_zone
                db.session.commit()
        auth.sign_in(email)

    return sign_in
