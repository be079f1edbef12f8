"""What every template can use."""
from datetime import UTC

from flask import g, has_request_context, request, url_for
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


_fixed_urls = {}


def fixed_url(endpoint, **values):
    """`url_for` for a link that is the same on every page (navigation, static files,
    forms without arguments), built once per process for each script root: a page
    prints a dozen of them, and url_for costs more than the rest of the header."""
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = _fixed_urls.get(key)
    if url is None:
        url = _fixed_urls[key] = url_for(endpoint, **values)
    return url


def register(app):
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(times.iso_utc, "iso_utc")
    app.add_template_filter(times.zone_for, "zone")

    # Constants and helpers: globals, not a context processor run at every render.
    app.jinja_env.globals.update(
        HTMX_URL=htmx.HTMX_URL,
        HTMX_INTEGRITY=htmx.HTMX_INTEGRITY,
        Audience=Audience,
        AdminRole=AdminRole,
        RECIPIENT_PERMISSIONS=RECIPIENT_PERMISSIONS,
        fixed_url=fixed_url,
    )

    @app.context_processor
    def portal_globals():
        return {"viewer_zone": viewer_zone()}
