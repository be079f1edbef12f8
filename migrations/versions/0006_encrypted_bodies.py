"""message bodies encrypted at rest: key id per message, existing bodies encrypted

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

Existing plaintext bodies are encrypted under the configured current key
(MESSAGE_KEY_ID; in development and test the key derived from SECRET_KEY).
The downgrade decrypts them again, so every key in use must be configured.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BATCH = 500

messages = sa.table('secure_messages', sa.column('id', sa.Integer),
                    sa.column('body', sa.Text), sa.column('body_key_id', sa.String))


def _each_batch(bind):
    """Lists of rows in id order, a batch at a time (bodies can be large)."""
    after = 0
    while True:
        rows = bind.execute(sa.select(messages).where(messages.c.id > after)
                            .order_by(messages.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


def upgrade():
    from portal.models.body_encryption import key_ring

    with op.batch_alter_table('secure_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_key_id', sa.String(length=64), nullable=True))

    bind, ring = op.get_bind(), key_ring()
    for rows in _each_batch(bind):
        for row in rows:
            key_id, stored = ring.encrypt(row["body"])
            bind.execute(messages.update().where(messages.c.id == row["id"])
                         .values(body=stored, body_key_id=key_id))

    with op.batch_alter_table('secure_messages', schema=None) as batch_op:
        batch_op.alter_column('body_key_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index('ix_secure_messages_body_key_id', ['body_key_id'], unique=False)


def downgrade():
    from portal.models.body_encryption import key_ring

    bind, ring = op.get_bind(), key_ring()
    for rows in _each_batch(bind):
        for row in rows:
            plaintext = ring.decrypt(row["body_key_id"], row["body"],
                                     where=f"the body of secure message {row['id']}")
            bind.execute(messages.update().where(messages.c.id == row["id"])
                         .values(body=plaintext))

    with op.batch_alter_table('secure_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_secure_messages_body_key_id')
        batch_op.drop_column('body_key_id')
