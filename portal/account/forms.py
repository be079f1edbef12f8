from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)

from ..models import AdminRole, Edition, ReadStatusMode

NO_ADMIN_ROLE = "none"
ROLE_CHOICES = [SelectChoice(NO_ADMIN_ROLE, "No admin role"),
                *(SelectChoice(role.value, role.label) for role in AdminRole)]


class SettingsForm(FlaskForm):
    # The rules for each setting live in the settings service; the form only reads input.
    edition = RadioField("Edition", choices=[SelectChoice(e.value) for e in Edition],
                         validate_choice=False)
    read_status_mode = RadioField("Read-status mode",
                                  choices=[SelectChoice(m.value) for m in ReadStatusMode],
                                  validate_choice=False)
    default_expiry_days = StringField("Default expiry (days)")
    allow_no_expiry = BooleanField("Allow messages with no expiry")
    default_allow_reply = BooleanField("Allow reply")
    default_allow_reply_all = BooleanField("Allow reply all")
    default_allow_forward = BooleanField("Allow forward")
    default_allow_print = BooleanField("Allow print")
    default_read_receipt = BooleanField("Read receipt")
    time_zone = StringField("Time zone")

    PERMISSIONS = ("default_allow_reply", "default_allow_reply_all", "default_allow_forward",
                   "default_allow_print", "default_read_receipt")


class AdminRoleForm(FlaskForm):
    # The list to go back to afterwards (q, page) is read from the form as plain values.
    admin_role = SelectField("Admin role", choices=ROLE_CHOICES)

    @property
    def new_role(self):
        return None if self.admin_role.data == NO_ADMIN_ROLE else AdminRole(self.admin_role.data)
