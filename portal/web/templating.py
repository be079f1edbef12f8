"""What every template can use."""
from ..models import AdminRole, Audience
from . import htmx, timefmt


def register(app):
    app.add_template_filter(timefmt.format_datetime, "datetime")
    app.add_template_filter(timefmt.format_date, "date")
    app.add_template_filter(timefmt.iso_utc, "iso_utc")
    app.add_template_filter(timefmt.zone_for, "zone")

    @app.context_processor
    def portal_globals():
        return {
            "HTMX_URL": htmx.HTMX_URL,
            "HTMX_INTEGRITY": htmx.HTMX_INTEGRITY,
            "Audience": Audience,
            "AdminRole": AdminRole,
        }
