"""Times go in and come out as aware UTC on both databases."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError

from portal.extensions import db
from portal.models import User, utcnow


def test_an_aware_time_comes_back_aware_and_in_utc(backend):
    berlin = datetime(2026, 7, 1, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    user = User(email="tz@example.com", created_at=berlin)
    db.session.add(user)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(User, user.id).created_at
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert stored < utcnow()  # comparing with an aware now() must not raise


def test_a_naive_time_is_refused(backend):
    db.session.add(User(email="naive@example.com", created_at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()
