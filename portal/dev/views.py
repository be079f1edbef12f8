import re

from flask import abort, current_app, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import OutboxEmail
from ..web.pagination import page_number
from . import bp

LINK = re.compile(r"https?://\S+")


@bp.get("/mailbox")
def mailbox():
    page = page_number()
    emails = db.paginate(select(OutboxEmail).order_by(OutboxEmail.id.desc()), page=page,
                         per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("dev/mailbox.html", emails=emails, links_in=LINK.findall)


@bp.get("/mailbox/<int:email_id>")
def email(email_id):
    item = db.session.get(OutboxEmail, email_id) or abort(404)
    return render_template("dev/email.html", email=item, links_in=LINK.findall)
