"""Client addresses a person has signed in from, for the per-account sign-in limit."""
from ..extensions import db
from .types import UTCDateTime, utcnow


class SignInAddress(db.Model):
    """An address that has signed in to this account successfully at least once.

    Sign-in attempts from an address listed here count only towards the limit per
    address and account, so guessing from elsewhere cannot lock the person out.
    `address_hash` is an HMAC of the address under a key that is not in the
    database (see identity/sign_in_addresses.py): the table is a look-up, not evidence.
    """

    __tablename__ = "sign_in_addresses"
    __table_args__ = (
        # Also serves the look-up at every sign-in attempt (user first, then address).
        db.UniqueConstraint("user_id", "address_hash", name="uq_sign_in_addresses_user_address"),
    )

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False)
    address_hash = db.Column(db.String(64), nullable=False)
    first_signed_in_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
