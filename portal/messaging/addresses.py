"""Recipient addresses as a sender types them: several, comma-separated."""
import re

from email_validator import EmailNotValidError, validate_email

SEPARATORS = re.compile(r"[,;\s]+")


def split_addresses(text):
    """`a@x.example, b@y.example; c@z.example` -> the non-empty parts, as typed."""
    return [part for part in SEPARATORS.split(text or "") if part]


def normalised_address(address):
    """The address in lower case, or None if it is not a valid email address."""
    try:
        result = validate_email(address, check_deliverability=False,
                                allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()
