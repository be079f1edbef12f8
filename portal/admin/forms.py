from flask_wtf import FlaskForm
from wtforms import TextAreaField


class AdminRecallForm(FlaskForm):
    # The ticked message ids come as a plain list (request.form.getlist).
    reason = TextAreaField("Reason (optional)")
