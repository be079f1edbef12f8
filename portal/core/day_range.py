"""A range of whole days typed in a filter, in the viewer's time zone."""
from datetime import date, datetime, time, timedelta

from .times import zone_for

EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9998, 12, 31)


def parse_day(value, key, label, errors, *, required=False):
    """The date typed as YYYY-MM-DD, or None; a problem is added to `errors[key]`."""
    if not value:
        if required:
            errors[key] = f"Enter the {label} for a custom range."
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[key] = f"The {label} is not a date (use YYYY-MM-DD)."
        return None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        errors[key] = f"The {label} must be between 1970-01-01 and 9998-12-31."
        return None
    return day


def parse_day_range(args, errors, *, required=False, start_key="start", end_key="end"):
    start = parse_day(args.get(start_key), start_key, "From date", errors, required=required)
    end = parse_day(args.get(end_key), end_key, "To date", errors, required=required)
    if start and end and start > end:
        errors[end_key] = "The To date must be on or after the From date."
    return start, end


def day_window(start, end, zone_name):
    """The UTC [from, to) covering the days `start`..`end` inclusive (either may be None)."""
    zone = zone_for(zone_name)
    lower = datetime.combine(start, time.min, tzinfo=zone) if start else None
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone) if end else None
    return lower, upper
