"""audit log hash chain: chain position, chain head, hashes for existing entries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:40:00

Existing entries are chained in id order with the configured key
(AUDIT_HMAC_KEY, or one derived from SECRET_KEY).
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    from portal.audit.chain import GENESIS, canonical_content, chain_key, entry_hash
    from portal.models.types import UTCDateTime

    op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    with op.batch_alter_table('audit_log_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))

    bind = op.get_bind()
    entries = sa.table(
        'audit_log_entries', sa.column('id', sa.Integer), sa.column('category', sa.String),
        sa.column('type', sa.String), sa.column('actor_id', sa.Integer),
        sa.column('actor_email', sa.String), sa.column('occurred_at', UTCDateTime()),
        sa.column('ip', sa.String), sa.column('user_agent', sa.String),
        sa.column('details', sa.JSON), sa.column('chain_seq', sa.BigInteger),
        sa.column('previous_hash', sa.String), sa.column('entry_hash', sa.String))
    key, previous, seq = chain_key(), GENESIS, 0
    rows = bind.execute(sa.select(entries).order_by(entries.c.id)).mappings().all()
    for row in rows:
        details = row["details"]
        if isinstance(details, str):
            details = json.loads(details)
        seq += 1
        digest = entry_hash(key, canonical_content(
            row["category"], row["type"], row["actor_id"], row["actor_email"],
            row["occurred_at"], row["ip"], row["user_agent"], details), previous)
        bind.execute(entries.update().where(entries.c.id == row["id"]).values(
            chain_seq=seq, previous_hash=previous, entry_hash=digest))
        previous = digest
    bind.execute(sa.text("INSERT INTO audit_chain_head (id, last_seq, last_hash) "
                         "VALUES (1, :seq, :hash)"), {"seq": seq, "hash": previous})

    with op.batch_alter_table('audit_log_entries', schema=None) as batch_op:
        batch_op.alter_column('chain_seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('previous_hash', existing_type=sa.String(length=64),
                              nullable=False)
        batch_op.alter_column('entry_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_entries_chain_seq'),
                                          ['chain_seq'])


def downgrade():
    with op.batch_alter_table('audit_log_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_log_entries_chain_seq'), type_='unique')
        batch_op.alter_column('entry_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('previous_hash', existing_type=sa.String(length=64),
                              nullable=True)
        batch_op.drop_column('chain_seq')
    op.drop_table('audit_chain_head')
