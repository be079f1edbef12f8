"""Every error gets a plain page with the right status, never a stack trace."""
from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import db
from .links import LinkNotValid
from .request_log import EXCEPTIONS_WITHOUT_VALUES, request_id, route
from .throttling import retry_after_seconds

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Check what you entered and try again."),
    401: ("Sign in required", "Sign in to continue."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing here. The address may be mistyped, or the item is not yours to see."),
    405: ("Not allowed", "That action is not available at this address."),
    410: ("No longer available", "This is no longer available."),
    413: ("Too large", "What you sent is too large."),
    429: ("Too many attempts", "Too many attempts. Wait a minute and try again."),
    500: ("Something went wrong", "Something went wrong on our side. Nothing was saved; try again."),
}


def render_error(status, detail=None):
    title, message = MESSAGES.get(status, ("Error", "The request could not be completed."))
    return render_template("errors/error.html", status=status, title=title,
                           message=detail or message), status


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        return render_error(400, "This form has expired or did not come from this site. "
                                 "Reload the page and try again.")

    @app.errorhandler(LinkNotValid)
    def link_not_valid(error):
        db.session.rollback()
        return render_template("recipient/link_not_valid.html"), 404

    @app.errorhandler(HTTPException)
    def http_error(error):
        db.session.rollback()
        response = render_error(error.code or 500)
        if error.code == 405 and getattr(error, "valid_methods", None):
            return response[0], response[1], {"Allow": ", ".join(error.valid_methods)}
        if error.code == 429:
            return response[0], response[1], {"Retry-After": str(retry_after_seconds())}
        return response

    def log_unhandled(exc_info):
        # Flask's own line names the raw path, a link token: name the route instead. The
        # app logger's filter (web.request_log) drops the exception's message.
        app.logger.error("unhandled error in %s %s (request id %s)", request.method, route(),
                         request_id(), exc_info=exc_info)

    app.log_exception = log_unhandled  # also what Flask calls when an error handler fails
    app.logger.addFilter(EXCEPTIONS_WITHOUT_VALUES)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        db.session.rollback()
        log_unhandled((type(error), error, error.__traceback__))
        return render_error(InternalServerError.code)
