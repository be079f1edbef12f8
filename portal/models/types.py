"""Column types shared by the models."""
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Enum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A point in time, stored in UTC, always returned timezone-aware.

    SQLite keeps no zone, so values are written as naive UTC and the zone is
    put back on the way out; PostgreSQL stores `timestamptz`. Naive values are
    refused on the way in: they are a bug, not a local time to guess at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON on SQLite, JSONB on PostgreSQL.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def enum_column(enum_cls, name, length=32):
    """A string column holding an enum's values, with a CHECK constraint.

    VARCHAR rather than a native PostgreSQL enum: adding a value later is a
    plain migration on both databases.
    """
    return Enum(enum_cls, native_enum=False, length=length, create_constraint=True,
                   name=name, values_callable=lambda e: [m.value for m in e])
