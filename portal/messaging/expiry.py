"""An expiry chosen as a date ends at the end of that day in the sender's time zone."""
from datetime import datetime, time, timedelta, timezone

from ..web.timefmt import zone_for


def expiry_from_date(day, time_zone):
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=zone_for(time_zone))
    return end_of_day.astimezone(timezone.utc)


def default_expiry_date(settings, time_zone, now):
    """The date Compose offers: today plus the definition's default days, or None."""
    if settings.default_expiry_days is None:
        return None
    today = now.astimezone(zone_for(time_zone)).date()
    return today + timedelta(days=settings.default_expiry_days)
