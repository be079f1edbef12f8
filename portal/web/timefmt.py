"""Times are stored in UTC and shown in the viewer's time zone, zone named."""
from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g, has_request_context
from flask_login import current_user


def zone_for(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        return timezone.utc


def viewer_zone():
    """The signed-in person's zone, looked up once per request (lists show many times)."""
    if not has_request_context():
        return timezone.utc
    if "viewer_zone" not in g:
        g.viewer_zone = zone_for(getattr(current_user, "time_zone", None))
    return g.viewer_zone


def _local(value, zone):
    """`value` in `zone`; in UTC when that would fall off either end of the calendar
    (a time stored at the very end of 9999 cannot be shown in Berlin)."""
    try:
        return value.astimezone(zone or viewer_zone())
    except OverflowError:
        return value.astimezone(timezone.utc)


def format_datetime(value, zone=None):
    """`27 Nov 2026 19:31 UTC`, in the viewer's zone unless one is given."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


def format_date(value, zone=None):
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local:%d %b %Y} {local.tzname()}"


def iso_utc(value):
    return value.astimezone(timezone.utc).isoformat() if value else ""
