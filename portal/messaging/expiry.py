"""An expiry chosen as a date ends at the end of that day in the sender's time zone.

The last day anyone can choose is 9998-12-31 (the last day every date filter
takes too, core/day_range.py): the end of 9999-12-31 in a zone behind UTC is
past the last moment Python's datetime can hold, so a later date could not be
stored, shown or put in an email.
"""
from datetime import UTC, datetime, time, timedelta

from ..core.day_range import LATEST_DAY
from ..core.times import zone_for

# The end of LATEST_DAY in the zone furthest behind UTC (UTC-12) is before this.
LATEST_EXPIRY = datetime.combine(LATEST_DAY + timedelta(days=2), time.min, tzinfo=UTC)
LATEST_EXPIRY_MESSAGE = f"Choose an expiry date on or before {LATEST_DAY:%d %b %Y}."


def expiry_from_date(day, time_zone):
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=zone_for(time_zone))
    return end_of_day.astimezone(UTC)


def default_expiry_date(settings, time_zone, now):
    """The date Compose offers: today plus the definition's default days, or None."""
    if settings.default_expiry_days is None:
        return None
    today = now.astimezone(zone_for(time_zone)).date()
    return min(today + timedelta(days=settings.default_expiry_days), LATEST_DAY)
