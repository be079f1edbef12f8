from flask import current_app, render_template, request
from flask_login import current_user

from ..messaging.queries import inbox_of
from . import bp


@bp.get("/inbox")
def inbox():
    page = request.args.get("page", 1, type=int)
    deliveries = inbox_of(current_user, page, current_app.config["PAGE_SIZE"])
    return render_template("recipient/inbox.html", deliveries=deliveries)
