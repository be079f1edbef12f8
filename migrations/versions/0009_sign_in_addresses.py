"""client addresses that have signed in to an account, for the per-account sign-in limit

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00

Starts empty: until a person signs in again, every address counts towards their
account's limit, as every attempt did before.
"""
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


def downgrade():
    op.drop_table('sign_in_addresses')
