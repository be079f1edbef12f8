from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..messaging.evidence_summary import CHANNEL_LABELS, summarise_details
from ..messaging.queries import message_details
from ..messaging.recall import REASON_MAX, RecallRefused, admin_recall
from ..messaging.search import RANGES, STATUSES, SearchCriteria, search_messages
from ..models import AdminRole, Edition, SecureMessage, utcnow
from ..settings import current_settings
from ..web.htmx import page_or_block
from ..web.request_info import current_request_info
from ..web.row_ids import parse_row_id
from ..web.urls import row_url
from . import bp
from .forms import AdminRecallForm

PAGE = "admin/secure_messaging.html"
RECALL = "admin/recall.html"
MAX_SELECTION = 500  # a page holds at most PAGE_SIZE rows; this bounds forged lists


def _recall_offer():
    """Whether this admin is offered recall, and if not, why (shown on the page)."""
    if not current_user.has_admin_role(AdminRole.BASIC):
        return False, None  # Read Only: nothing to offer, nothing to explain
    if current_settings().edition is Edition.LITE:
        return False, ("Admin recall is not available in the Lite edition. "
                       "Senders can still recall their own messages from their Sent page.")
    return True, None


def _recall_context():
    can_recall, recall_note = _recall_offer()
    return {"can_recall": can_recall, "recall_note": recall_note}


def _search_context(criteria, details=None, tab="message", now=None):
    return {"criteria": criteria, "ranges": RANGES, "statuses": STATUSES, "details": details,
            "tab": tab, "now": now or utcnow(), "channel_labels": CHANNEL_LABELS}


def _results(criteria):
    if criteria.errors:
        return {"results": None}
    # The rows' links keep the page asked for (the search may move to the last one).
    details_url_for = row_url("admin.message_details_panel", "message_id", **criteria.as_args())
    return {"results": search_messages(criteria, current_user.time_zone,
                                       current_app.config["PAGE_SIZE"]),
            "details_url_for": details_url_for}


def _respond(criteria, context, blocks, page_context=None):
    return page_or_block(PAGE, blocks, context, status=400 if criteria.errors else 200,
                         page_context=page_context)


@bp.get("/secure-messaging")
def secure_messaging():
    criteria = SearchCriteria.from_args(request.args)
    return _respond(criteria, {**_search_context(criteria), **_recall_context(),
                               **_results(criteria)},
                    {"search-results": "results"})


@bp.get("/secure-messaging/messages/<int:message_id>")
def message_details_panel(message_id):
    now = utcnow()
    message = message_details(message_id, now) or abort(404)
    tab = "status" if request.args.get("tab") == "status" else "message"
    details = {"message": message.message, "status": message.status_at(now), "to": message.to,
               "cc": message.cc, "permissions": message.recipient_permissions,
               "recipients": summarise_details(message, message.logons)}
    criteria = SearchCriteria.from_args(request.args)
    # The panel alone never shows the results, nor the recall offer: only the whole page.
    return _respond(criteria, _search_context(criteria, details, tab, now=now),
                    {"details-panel": "details"},
                    page_context=lambda: {**_recall_context(), **_results(criteria)})


def _selected_ids(values):
    ids = []
    for value in values[:MAX_SELECTION]:
        row_id = parse_row_id(value)
        if row_id is None:
            abort(400)
        ids.append(row_id)
    return ids


@bp.get("/secure-messaging/recall")
def recall_confirm():
    """The confirmation: how many messages and which, with an optional reason."""
    ids = _selected_ids(request.args.getlist("message_ids"))
    can_recall, recall_note = _recall_offer()
    if not can_recall:
        return _recall_page({"refusal": recall_note}, 403)
    messages = db.session.scalars(select(SecureMessage).where(SecureMessage.id.in_(ids))
                                  .order_by(SecureMessage.sent_at.desc())).all() if ids else []
    back = request.args.get("back", "")
    return _recall_page({"messages": messages, "form": AdminRecallForm(),
                         "back": back if back.startswith("/admin/") else None,
                         "reason_max": REASON_MAX}, 200)


@bp.post("/secure-messaging/recall")
def recall():
    form = AdminRecallForm()
    ids = _selected_ids(request.form.getlist("message_ids"))
    if not ids:
        return _recall_page({"problem": "Tick at least one message to recall."}, 400)
    try:
        outcome = admin_recall(current_user, ids, edition=current_settings().edition,
                               reason=form.reason.data, request_info=current_request_info())
    except RecallRefused as refusal:
        return _recall_page({"refusal": str(refusal)}, 403)
    back = request.form.get("back", "")
    response = _recall_page({"outcome": outcome,
                             "back": back if back.startswith("/admin/") else None}, 200)
    # The results table listens for this and refreshes itself.
    response.headers["HX-Trigger"] = "messagesRecalled"
    return response


def _recall_page(context, status):
    context.setdefault("back", None)
    return page_or_block(RECALL, {"*": "dialog_content"}, context, status, fragment_status=status)


