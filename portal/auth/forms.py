from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=1024)])


class RegisterForm(FlaskForm):
    # Strength and match are checked by the registration service.
    password = PasswordField("Password", validators=[Length(max=1024)])
    confirm_password = PasswordField("Confirm password", validators=[Length(max=1024)])


class ChangePasswordForm(FlaskForm):
    # Checked by the service: the current password, strength and match.
    current_password = PasswordField("Current password", validators=[Length(max=1024)])
    password = PasswordField("New password", validators=[Length(max=1024)])
    confirm_password = PasswordField("Confirm new password", validators=[Length(max=1024)])
