from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.addresses import split_addresses
from ..core.pagination import page_number
from ..messaging.expiry import default_expiry_date, expiry_from_date
from ..messaging.queries import message_sent_by, messages_sent_by
from ..messaging.recall import sender_recall
from ..messaging.sending import DraftError, MessageDraft, send_message
from ..models import utcnow
from ..settings import current_settings
from ..web.request_info import current_request_info
from ..web.urls import row_url
from . import bp
from .forms import ComposeForm, RecallForm

# Service error keys that are named differently on the form.
FORM_FIELD_FOR = {"expires_at": "expiry_date"}


@bp.get("/sent")
def sent_messages():
    page = page_number(request.args)
    results = messages_sent_by(current_user, page, current_app.config["PAGE_SIZE"])
    return render_template("sender/sent.html", results=results,
                           sent_message_url=row_url("sender.sent_message", "message_id"))


@bp.route("/compose", methods=["GET", "POST"])
def compose():
    settings = current_settings()
    form = ComposeForm()
    if request.method == "GET":
        form.expiry_date.data = default_expiry_date(settings, current_user.time_zone, utcnow())
        form.no_expiry.data = settings.default_expiry_days is None and settings.allow_no_expiry
        for name in ComposeForm.PERMISSIONS:
            getattr(form, name).data = getattr(settings, f"default_{name}")
        return render_template("sender/compose.html", form=form, settings=settings)

    if form.validate_on_submit():
        draft = _draft_from(form, settings)
        try:
            message, _tokens = send_message(current_user, draft, settings=settings,
                                            request_info=current_request_info())
        except DraftError as error:
            for key, text in error.errors.items():
                getattr(form, FORM_FIELD_FOR.get(key, key)).errors = [text]
        else:
            count = len(message.deliveries)
            flash(f"Secure message sent to {count} recipient{'s' if count != 1 else ''}.")
            return redirect(url_for("sender.sent_message", message_id=message.id))
    return render_template("sender/compose.html", form=form, settings=settings), 400


def _draft_from(form, settings):
    no_expiry = form.no_expiry.data and settings.allow_no_expiry
    expires_at = None
    if form.expiry_date.data and not no_expiry:
        expires_at = expiry_from_date(form.expiry_date.data, current_user.time_zone)
    return MessageDraft(
        to=split_addresses(form.to.data), cc=split_addresses(form.cc.data),
        subject=form.subject.data or "", body=form.body.data or "", expires_at=expires_at,
        **{name: bool(getattr(form, name).data) for name in ComposeForm.PERMISSIONS},
    )


@bp.get("/sent/<int:message_id>")
def sent_message(message_id):
    message = message_sent_by(current_user, message_id) or abort(404)
    confirm_recall = request.args.get("confirm") == "recall"
    return render_template("sender/message.html", message=message, now=utcnow(),
                           recall_form=RecallForm(), confirm_recall=confirm_recall)


@bp.post("/sent/<int:message_id>/recall")
def recall(message_id):
    form = RecallForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        outcome = sender_recall(current_user, message_id, reason=form.reason.data,
                                request_info=current_request_info())
    except LookupError:
        abort(404)
    if outcome.recalled:
        flash("Message recalled. Its recipients can no longer open it.")
    else:
        flash(f"Nothing to recall: this message is already {outcome.skipped[message_id]}.")
    return redirect(url_for("sender.sent_message", message_id=message_id))
