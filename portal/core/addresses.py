"""Email addresses: the one form they are stored, looked up and counted in, and
the recipient lists a sender types (several, comma-separated)."""
import re

from email_validator import EmailNotValidError, validate_email

SEPARATORS = re.compile(r"[,;\s]+")


def normalise_email(text):
    """The form every address is stored and looked up in: trimmed, lower case."""
    return (text or "").strip().lower()


def valid_address(text):
    """The address normalised, or None if it is not a valid email address."""
    try:
        result = validate_email(normalise_email(text), check_deliverability=False,
                                allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return normalise_email(result.normalized)


def split_addresses(text):
    """`a@x.example, b@y.example; c@z.example` -> the non-empty parts, as typed."""
    return [part for part in SEPARATORS.split(text or "") if part]
