"""reader indexes: Inbox and Sent read their lists from an index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00

Sent lists a sender's messages by sent_at, newest first, ties broken by id:
the sender's index now holds id too, so the page is read from it in order and
nothing is sorted. The Inbox, its total and its unread count start from a
recipient's deliveries: their index now holds the status and the delivery id
as well, so all three read it alone, not the deliveries table (1,000 rows of
it for a recipient with 1,000 messages). benchmarks/reader_scale.py shows the
plans on a million messages.
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('secure_messages', schema=None) as batch_op:
        batch_op.create_index('ix_secure_messages_sender_sent_at_id',
                              ['sender_id', 'sent_at', 'id'], unique=False)
        batch_op.drop_index('ix_secure_messages_sender_sent_at')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_recipient_message_status',
                              ['recipient_id', 'message_id', 'recipient_status', 'id'],
                              unique=False)
        batch_op.drop_index('ix_deliveries_recipient_message')


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_recipient_message', ['recipient_id', 'message_id'],
                              unique=False)
        batch_op.drop_index('ix_deliveries_recipient_message_status')
    with op.batch_alter_table('secure_messages', schema=None) as batch_op:
        batch_op.create_index('ix_secure_messages_sender_sent_at', ['sender_id', 'sent_at'],
                              unique=False)
        batch_op.drop_index('ix_secure_messages_sender_sent_at_id')
