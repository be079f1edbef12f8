from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError

from ..core.day_range import LATEST_DAY
from ..messaging.expiry import LATEST_EXPIRY_MESSAGE


def no_later_than_the_last_day(form, field):
    # Checked on the form because the date is turned into a time in the
    # sender's zone before the sending service sees it, and 9999-12-31 cannot be.
    if field.data and field.data > LATEST_DAY:
        raise ValidationError(LATEST_EXPIRY_MESSAGE)


class ComposeForm(FlaskForm):
    # The rules for a draft live in the sending service; the form only reads input.
    to = StringField("To")
    cc = StringField("Cc")
    subject = StringField("Subject")
    body = TextAreaField("Body")
    expiry_date = DateField("Expiry Date", validators=[Optional(), no_later_than_the_last_day],
                            format="%Y-%m-%d")
    no_expiry = BooleanField("No expiry")
    allow_reply = BooleanField("Allow reply")
    allow_reply_all = BooleanField("Allow reply all")
    allow_forward = BooleanField("Allow forward")
    allow_print = BooleanField("Allow print")
    read_receipt = BooleanField("Read receipt")

    PERMISSIONS = ("allow_reply", "allow_reply_all", "allow_forward", "allow_print",
                   "read_receipt")


class RecallForm(FlaskForm):
    reason = TextAreaField("Reason (optional)")
