from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)

from ..core.permissions import RECIPIENT_PERMISSIONS
from ..models import AdminRole, Edition, ReadStatusMode
from ..settings import DEFAULT_PERMISSION_NAMES

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
    time_zone = StringField("Time zone")
    PERMISSIONS = DEFAULT_PERMISSION_NAMES


for _name, _label in RECIPIENT_PERMISSIONS:  # the default of each recipient permission
    setattr(SettingsForm, f"default_{_name}", BooleanField(_label))


class AdminRoleForm(FlaskForm):
    # The list to go back to afterwards (q, page) is read from the form as plain values.
    admin_role = SelectField("Admin role", choices=ROLE_CHOICES)

    @property
    def new_role(self):
        return None if self.admin_role.data == NO_ADMIN_ROLE else AdminRole(self.admin_role.data)
