"""Account > Settings: edition, read-status mode, the Secure Messaging definition, time zone."""
import enum

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..settings import (
    CHANGEABLE,
    SettingsError,
    current_settings,
    known_time_zones,
    update_account_settings,
)
from ..web.request_info import current_request_info
from . import bp
from .forms import SettingsForm

PAGE = "account/settings.html"


def _settings_page(form, status):
    return render_template(PAGE, form=form, time_zones=sorted(known_time_zones())), status


@bp.get("/settings")
def settings_page():
    settings = current_settings()
    values = {name: getattr(settings, name) for name in CHANGEABLE}
    form = SettingsForm(data={name: value.value if isinstance(value, enum.Enum) else value
                              for name, value in values.items()})
    return _settings_page(form, 200)


@bp.post("/settings")
def save_settings():
    form = SettingsForm()
    if form.validate_on_submit():
        try:
            changed = update_account_settings(current_user,
                                              {name: form[name].data for name in CHANGEABLE},
                                              current_request_info())
        except SettingsError as error:
            for name, text in error.errors.items():
                form[name].errors = [text]
        else:
            if changed:
                flash("Settings saved. Changed: "
                      + ", ".join(form[name].label.text for name in changed) + ".")
            else:
                flash("Nothing changed: the settings were already as shown.")
            return redirect(url_for("account.settings_page"))
    return _settings_page(form, 400)
