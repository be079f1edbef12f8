from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.pagination import page_number
from ..messaging.link_scanners import is_prefetch, looks_automated
from ..messaging.queries import delivery_of, inbox_of, unread_count
from ..messaging.reading import (
    open_message,
    open_message_from_link,
    reading_of,
    recipient_of,
    record_link_opened,
)
from ..messaging.responding import ResponseRefused, check_permitted, respond
from ..messaging.sending import DraftError
from ..models import ViewChannel, utcnow
from ..settings import current_settings
from ..web.htmx import page_or_block
from ..web.links import LinkNotValid, reading_named_by
from ..web.request_info import current_request_info
from ..web.throttling import link_opens_per_ip
from ..web.urls import row_url
from . import bp
from .forms import RespondForm

INBOX = "recipient/inbox.html"


def _inbox_list(page):
    return {"deliveries": inbox_of(current_user, page, current_app.config["PAGE_SIZE"])}


def _inbox_context(page, selected=None, access=None):
    return {"selected": selected, "access": access, "unread": unread_count(current_user),
            "now": utcnow(), "page": page,
            "message_url_for": row_url("recipient.inbox_message", "delivery_id",
                                       page=page if page != 1 else None)}


@bp.get("/inbox")
def inbox():
    page = page_number(request.args)
    return render_template(INBOX, **_inbox_context(page), **_inbox_list(page))


@bp.get("/inbox/<int:delivery_id>")
def inbox_message(delivery_id):
    """Selecting a message in the Inbox: the reading pane, or the whole page on reload."""
    reading = reading_of(current_user, delivery_id) or abort(404)
    access = open_message(current_user, reading, ViewChannel.INBOX,
                          read_status_mode=current_settings().read_status_mode,
                          request_info=current_request_info())
    page = page_number(request.args)
    context = _inbox_context(page, selected=reading, access=access)
    return page_or_block(INBOX, {"reading-pane": ("reading_pane", "oob_updates")}, context,
                         fragment_context={"oob": True}, page_context=lambda: _inbox_list(page))


@bp.route("/m/<token>", methods=["GET", "HEAD"])
@link_opens_per_ip
def open_link(token):
    """The personal link in a notification email. Opening it is evidence, not a read."""
    reading = reading_named_by(token)
    info = current_request_info()
    is_recipient = current_user.is_authenticated and current_user.id == reading.recipient_id
    automated = looks_automated(method=request.method, headers=request.headers,
                                signed_in=current_user.is_authenticated,
                                user_agent=info.user_agent,
                                since_sent=utcnow() - reading.sent_at)
    fetched_ahead = request.method == "HEAD" or is_prefetch(request.headers)
    if is_recipient and not fetched_ahead:
        access = open_message_from_link(current_user, reading,
                                        read_status_mode=current_settings().read_status_mode,
                                        request_info=info, suspected_scanner=automated)
        return render_template("recipient/viewer.html", access=access,
                               now=utcnow()), 200 if access.shown else 410
    details = {"signed_in_as_another_account": True} if (
        current_user.is_authenticated and not is_recipient) else {}
    record_link_opened(reading, signed_in=is_recipient, request_info=info,
                       suspected_scanner=automated, details=details)
    if fetched_ahead:
        return "", 204  # a fetch ahead of time never shows the message
    if not current_user.is_authenticated:
        if not recipient_of(reading).is_registered:
            return redirect(url_for("auth.register", token=token))
        return redirect(url_for("auth.sign_in_page", next=request.path))
    raise LinkNotValid()  # someone else's link


@bp.route("/inbox/<int:delivery_id>/<any(reply, 'reply-all', forward):action>",
          methods=["GET", "POST"])
def respond_to(delivery_id, action):
    delivery = delivery_of(current_user, delivery_id) or abort(404)
    try:
        check_permitted(delivery, action)
    except ResponseRefused as refusal:
        return render_template("errors/error.html", status=refusal.status,
                               title="Not available", message=str(refusal)), refusal.status
    form = RespondForm()
    status = 200
    if form.validate_on_submit():
        try:
            message = respond(current_user, delivery, action, settings=current_settings(),
                              text=form.body.data or "",
                              forward_to=form.to.data or "",
                              request_info=current_request_info())
        except ResponseRefused as refusal:
            return render_template("errors/error.html", status=refusal.status,
                                   title="Not available", message=str(refusal)), refusal.status
        except DraftError as error:
            for key, text in error.errors.items():
                field = {"to": "to", "cc": "to", "body": "body"}.get(key)
                (getattr(form, field).errors if field else form.form_errors).append(text)
            status = 400
        else:
            count = len(message.deliveries)
            what = "Forwarded" if action == "forward" else "Your reply was sent"
            flash(f"{what} as a secure message to {count} "
                  f"recipient{'s' if count != 1 else ''}.")
            return redirect(url_for("recipient.inbox_message", delivery_id=delivery.id))
    elif request.method == "POST":
        status = 400
    return render_template("recipient/respond.html", form=form, delivery=delivery,
                           action=action, label=ACTION_LABELS[action]), status


ACTION_LABELS = {"reply": "Reply", "reply-all": "Reply all", "forward": "Forward"}
