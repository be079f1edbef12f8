"""Addresses a person has signed in from: the per-account sign-in limit spares them.

Only an HMAC of each address is stored, under a key derived from SECRET_KEY. A
plain hash would not hide much: hashing all 2^32 IPv4 addresses takes minutes,
so a copy of the table would tell where each person signs in from. With the key
kept out of the database, the table only answers "has this address signed in to
this account?" for the running portal. Changing SECRET_KEY forgets every address:
each counts towards its account's limit again until the person signs in from it.
"""
import hashlib
import hmac

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import SignInAddress, User


def sign_in_address_hash(ip):
    """The stored form of an address (migration 0009 fills the table with it too)."""
    key = hmac.new(current_app.config["SECRET_KEY"].encode(),
                   b"secure-messaging-portal sign-in addresses", hashlib.sha256).digest()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()


def is_known_sign_in_address(email, ip):
    """Whether `ip` has signed in to the account of `email` (normalised) before.

    One query whether or not the account exists, so the answer takes as long
    for an unknown email as for a known one.
    """
    if not ip:
        return False
    return db.session.scalar(
        select(SignInAddress.id).join(User, User.id == SignInAddress.user_id)
        .where(User.email == email, SignInAddress.address_hash == sign_in_address_hash(ip))
    ) is not None


def remember_sign_in_address(user, ip, now):
    """Add the address to the caller's transaction, once per account: two sign-ins
    from one new address at the same moment add one row, not an error."""
    if not ip:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(SignInAddress)
        .values(user_id=user.id, address_hash=sign_in_address_hash(ip), first_signed_in_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "address_hash"])
    )
