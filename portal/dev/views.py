import re

from flask import abort, current_app, render_template, request
from sqlalchemy import select

from ..core.pagination import page_number
from ..extensions import db
from ..models import OutboxEmail
from ..notifications.outbox import message_link
from . import bp


def message_links(text):
    """The portal's own message links in an email's text: BASE_URL/m/<token> alone on its
    line, as the notification puts it, and rebuilt from the token. Anything else that
    looks like a URL (a subject may hold one) stays text, so no email can make the
    Dev mailbox link somewhere else."""
    own = re.compile("^" + re.escape(message_link("")) + r"([A-Za-z0-9_-]+)$", re.MULTILINE)
    return [message_link(token) for token in own.findall(text)]


@bp.get("/mailbox")
def mailbox():
    page = page_number(request.args)
    emails = db.paginate(select(OutboxEmail).order_by(OutboxEmail.id.desc()), page=page,
                         per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("dev/mailbox.html", emails=emails, message_links=message_links)


@bp.get("/mailbox/<int:email_id>")
def email(email_id):
    item = db.session.get(OutboxEmail, email_id) or abort(404)
    return render_template("dev/email.html", email=item, message_links=message_links)
