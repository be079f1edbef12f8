"""Times are stored in UTC and shown in a person's time zone, zone named."""
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_for(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        return UTC


def _local(value, zone):
    """`value` in `zone`; in UTC when that would fall off either end of the calendar
    (a time stored at the very end of 9999 cannot be shown in Berlin)."""
    try:
        return value.astimezone(zone)
    except OverflowError:
        return value.astimezone(UTC)


def format_datetime(value, zone):
    """`27 Nov 2026 19:31 UTC`, in `zone`."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


def format_date(value, zone):
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local:%d %b %Y} {local.tzname()}"


def iso_utc(value):
    return value.astimezone(UTC).isoformat() if value else ""
