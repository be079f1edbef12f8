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
