"""audit chain head sealed with the audit key; checkpoints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:00:00

The existing head is sealed with the configured key (AUDIT_HMAC_KEY, or the one
derived from SECRET_KEY), as it stands: run `flask audit verify` before
upgrading if the log may already have been cut short.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    from portal.audit.chain import GENESIS, chain_key
    from portal.audit.checkpoint import Checkpoint
    from portal.models.types import UTCDateTime, utcnow

    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('seal', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    head = sa.table('audit_chain_head', sa.column('id', sa.Integer),
                    sa.column('last_seq', sa.BigInteger), sa.column('last_hash', sa.String),
                    sa.column('sealed_at', UTCDateTime()), sa.column('key_id', sa.String),
                    sa.column('seal', sa.String))
    row = bind.execute(sa.select(head).where(head.c.id == 1)).mappings().first()
    if row is None:  # 0005 creates it; only a damaged database lacks it
        bind.execute(head.insert().values(id=1, last_seq=0, last_hash=GENESIS))
        row = {"last_seq": 0, "last_hash": GENESIS}
    record = Checkpoint.sealed(chain_key(), row["last_seq"], row["last_hash"], utcnow())
    bind.execute(head.update().where(head.c.id == 1).values(
        sealed_at=record.at, key_id=record.key_id, seal=record.mac))

    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.alter_column('sealed_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('key_id', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('seal', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.drop_column('seal')
        batch_op.drop_column('key_id')
        batch_op.drop_column('sealed_at')
