from flask import current_app, render_template, request
from flask_login import current_user

from ..messaging.queries import messages_sent_by
from . import bp


@bp.get("/sent")
def sent_messages():
    page = request.args.get("page", 1, type=int)
    results = messages_sent_by(current_user, page, current_app.config["PAGE_SIZE"])
    return render_template("sender/sent.html", results=results)
