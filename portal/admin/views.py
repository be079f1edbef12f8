from flask import current_app, render_template, request

from ..messaging.queries import recent_messages
from . import bp


@bp.get("/secure-messaging")
def secure_messaging():
    page = request.args.get("page", 1, type=int)
    results = recent_messages(page, current_app.config["PAGE_SIZE"])
    return render_template("admin/secure_messaging.html", results=results)
