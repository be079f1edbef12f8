"""client addresses that have signed in to an account, for the per-account sign-in limit

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00

Filled from what already shows where each person has signed in from: the
addresses of their sessions and of their "Signed In" and "Registered" audit
entries, stored as the portal stores them (an HMAC under a key derived from the
configured SECRET_KEY, so run it with the production settings). Without this, a
guesser could lock everyone out right after the upgrade, until each signed in
again.
"""
from itertools import chain

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_addresses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('first_signed_in_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_sign_in_addresses_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_addresses')),
        sa.UniqueConstraint('user_id', 'address_hash',
                            name=op.f('uq_sign_in_addresses_user_address')),
    )
    _remember_known_addresses(op.get_bind())


BATCH = 500
# Audit entries that mean "this person got in from this address".
GOT_IN = ('Authentication - Signed In', 'Authentication - Registered')


def _remember_known_addresses(bind):
    from portal.identity.sign_in_addresses import sign_in_address_hash
    from portal.models.types import UTCDateTime

    users = sa.table('users', sa.column('id', sa.Integer))
    sessions = sa.table('user_sessions', sa.column('user_id', sa.Integer),
                        sa.column('ip', sa.String), sa.column('created_at', UTCDateTime()))
    entries = sa.table('audit_log_entries', sa.column('actor_id', sa.Integer),
                       sa.column('type', sa.String), sa.column('ip', sa.String),
                       sa.column('occurred_at', UTCDateTime()))
    known = sa.table('sign_in_addresses', sa.column('user_id', sa.Integer),
                     sa.column('address_hash', sa.String),
                     sa.column('first_signed_in_at', UTCDateTime()))
    first_seen = {}
    for user_id, ip, at in chain(
            bind.execute(sa.select(sessions.c.user_id, sessions.c.ip,
                                   sa.func.min(sessions.c.created_at))
                         .where(sessions.c.ip.is_not(None))
                         .group_by(sessions.c.user_id, sessions.c.ip)),
            bind.execute(sa.select(entries.c.actor_id, entries.c.ip,
                                   sa.func.min(entries.c.occurred_at))
                         .where(entries.c.type.in_(GOT_IN), entries.c.ip.is_not(None),
                                entries.c.actor_id.in_(sa.select(users.c.id)))
                         .group_by(entries.c.actor_id, entries.c.ip))):
        key = (user_id, sign_in_address_hash(ip))
        first_seen[key] = min(at, first_seen.get(key, at))
    rows = [{"user_id": user_id, "address_hash": address_hash, "first_signed_in_at": at}
            for (user_id, address_hash), at in sorted(first_seen.items())]
    for start in range(0, len(rows), BATCH):
        bind.execute(known.insert(), rows[start:start + BATCH])


def downgrade():
    op.drop_table('sign_in_addresses')
