from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError

from ..core.day_range import LATEST_DAY
from ..core.permissions import PERMISSION_NAMES, RECIPIENT_PERMISSIONS
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
    PERMISSIONS = PERMISSION_NAMES


for _name, _label in RECIPIENT_PERMISSIONS:  # a tick box per recipient permission
    setattr(ComposeForm, _name, BooleanField(_label))


class RecallForm(FlaskForm):
    reason = TextAreaField("Reason (optional)")
