"""access evidence: a notification cancelled (recall, expiry), never sent

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:00:00

A new evidence kind, `notification_cancelled`, beside the `notification_sent`
written when the notification was queued. Earlier cancels have no such row (the
outbox keeps their status and reason). The downgrade removes these rows: the
old schema has no kind for them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD_KINDS = ('notification_sent', 'link_opened', 'portal_logon', 'message_viewed',
             'access_refused', 'attachment_downloaded', 'reply_sent', 'forward_sent',
             'read_receipt_sent')
NEW_KINDS = OLD_KINDS + ('notification_cancelled',)


def _kind_check(kinds):
    with op.batch_alter_table('access_evidence', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_access_evidence_evidence_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_access_evidence_evidence_kind'),
                                         sa.column('kind').in_(kinds))


def upgrade():
    _kind_check(NEW_KINDS)


def downgrade():
    evidence = sa.table('access_evidence', sa.column('kind', sa.String))
    op.get_bind().execute(evidence.delete().where(evidence.c.kind == 'notification_cancelled'))
    _kind_check(OLD_KINDS)
