"""Account > Read-status discrepancies, and its CSV export."""
from flask import current_app, render_template, request
from flask_login import current_user

from ..messaging.discrepancies import (
    CSV_HEADER,
    DiscrepancyFilter,
    csv_row,
    discrepancy_page,
    each_discrepancy,
)
from ..messaging.evidence_summary import CHANNEL_LABELS
from ..models import utcnow
from ..web.csv_export import stream_csv
from . import bp

PAGE = "account/discrepancies.html"


def _page(report_filter):
    report = None
    if not report_filter.errors:
        report = discrepancy_page(report_filter, current_user.time_zone,
                                  current_app.config["PAGE_SIZE"])
    html = render_template(PAGE, report_filter=report_filter, report=report, now=utcnow(),
                           channel_labels=CHANNEL_LABELS)
    return html, 400 if report_filter.errors else 200


@bp.get("/read-status-discrepancies")
def read_status_discrepancies():
    return _page(DiscrepancyFilter.from_args(request.args))


@bp.get("/read-status-discrepancies.csv")
def read_status_discrepancies_csv():
    report_filter = DiscrepancyFilter.from_args(request.args)
    if report_filter.errors:
        return _page(report_filter)
    now, zone_name = utcnow(), current_user.time_zone
    rows = (csv_row(item, now) for item in each_discrepancy(report_filter, zone_name))
    return stream_csv("read-status-discrepancies.csv", CSV_HEADER, rows)
