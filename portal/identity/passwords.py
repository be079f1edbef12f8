"""Password hashing, with the method chosen in configuration."""
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD_LENGTH = 12


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def password_matches(password_hash, password):
    return check_password_hash(password_hash, password)


def spend_equal_time(password):
    """Hash once for an unknown email, so timing does not reveal who has an account."""
    hash_password(password)


def check_new_password(password, confirmation):
    errors = {}
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > 1024:
        errors["password"] = "Choose a password of at most 1,024 characters."
    if "password" not in errors and password != confirmation:
        errors["confirm_password"] = "The two passwords do not match."
    return errors
