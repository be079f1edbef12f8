from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField


class RespondForm(FlaskForm):
    # Addresses and text are checked by the sending service.
    to = StringField("To")
    body = TextAreaField("Message")
