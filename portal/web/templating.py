"""What every template can use."""
from datetime import UTC

from flask import g, has_request_context
from flask_login import current_user
from jinja2 import pass_context

from ..core import times
from ..core.permissions import RECIPIENT_PERMISSIONS
from ..models import AdminRole, Audience
from . import htmx


def viewer_zone():
    """The signed-in person's zone, looked up once per request (lists show many times)."""
    if not has_request_context():
        return UTC
    if "viewer_zone" not in g:
        g.viewer_zone = times.zone_for(getattr(current_user, "time_zone", None))
    return g.viewer_zone


# The filters read the viewer's zone from the template's context (put there once per
# render): a list prints dozens of times, and looking the zone up through the request
# globals each time cost more than formatting them.
@pass_context
def format_datetime(context, value, zone=None):
    """`27 Nov 2026 19:31 UTC`, in the viewer's zone unless one is given."""
    return times.format_datetime(value, zone or context.get("viewer_zone") or viewer_zone())


@pass_context
def format_date(context, value, zone=None):
    return times.format_date(value, zone or context.get("viewer_zone") or viewer_zone())


def register(app):
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(times.iso_utc, "iso_utc")
    app.add_template_filter(times.zone_for, "zone")

    @app.context_processor
    def portal_globals():
        return {
            "HTMX_URL": htmx.HTMX_URL,
            "HTMX_INTEGRITY": htmx.HTMX_INTEGRITY,
            "Audience": Audience,
            "AdminRole": AdminRole,
            "RECIPIENT_PERMISSIONS": RECIPIENT_PERMISSIONS,
            "viewer_zone": viewer_zone(),
        }
