"""notification emails at rest: content encrypted, link wiped once handed over; link registration window

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00

An outbox email's text and HTML are encrypted like message bodies, under the
configured current key (MESSAGE_KEY_ID; in development and test the key
derived from SECRET_KEY), bound to the row's address and Message-ID. Emails
already sent lose their content (their links are history); the rest are
encrypted. A new status, `cancelled`, marks notifications a recall stopped.
The downgrade decrypts what is left; removed content comes back as a note.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 500
OLD_STATUSES = ('pending', 'sending', 'sent', 'failed')
NEW_STATUSES = OLD_STATUSES + ('cancelled',)
REMOVED_NOTE = "(content removed once handed to the mail server)"

emails = sa.table('outbox_emails', sa.column('id', sa.Integer),
                  sa.column('to_address', sa.String), sa.column('message_id_header', sa.String),
                  sa.column('status', sa.String), sa.column('text_body', sa.Text),
                  sa.column('html_body', sa.Text), sa.column('content_key_id', sa.String))


def _purpose(part, row):
    # The same binding as OutboxEmail._purpose (models/outbox.py), fixed here
    # so that a later change there cannot change what this migration wrote.
    return ("outbox_emails." + json.dumps([part, row["to_address"], row["message_id_header"]])
            ).encode("utf-8")


def _each_batch(bind, *conditions):
    after = 0
    while True:
        rows = bind.execute(sa.select(emails).where(emails.c.id > after, *conditions)
                            .order_by(emails.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


def _status_check(batch_op, statuses):
    batch_op.drop_constraint(op.f('ck_outbox_emails_outbox_status'), type_='check')
    batch_op.create_check_constraint(
        op.f('ck_outbox_emails_outbox_status'),
        sa.column('status').in_(statuses))


def upgrade():
    from portal.models.body_encryption import key_ring

    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_key_id', sa.String(length=64), nullable=True))
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=True)
        _status_check(batch_op, NEW_STATUSES)

    bind, ring = op.get_bind(), key_ring()
    bind.execute(emails.update().where(emails.c.status == 'sent')
                 .values(text_body=None, html_body=None, content_key_id=None))
    for rows in _each_batch(bind, emails.c.status != 'sent', emails.c.content_key_id.is_(None)):
        for row in rows:
            key_id, text = ring.encrypt(row["text_body"], purpose=_purpose("text", row))
            html = None if row["html_body"] is None else ring.encrypt(
                row["html_body"], purpose=_purpose("html", row))[1]
            bind.execute(emails.update().where(emails.c.id == row["id"])
                         .values(text_body=text, html_body=html, content_key_id=key_id))


def downgrade():
    from portal.models.body_encryption import key_ring

    bind, ring = op.get_bind(), key_ring()
    for rows in _each_batch(bind, emails.c.content_key_id.is_not(None)):
        for row in rows:
            where = f"outbox email {row['id']}"
            text = ring.decrypt(row["content_key_id"], row["text_body"], where=where,
                                purpose=_purpose("text", row))
            html = None if row["html_body"] is None else ring.decrypt(
                row["content_key_id"], row["html_body"], where=where,
                purpose=_purpose("html", row))
            bind.execute(emails.update().where(emails.c.id == row["id"])
                         .values(text_body=text, html_body=html))
    bind.execute(emails.update().where(emails.c.text_body.is_(None))
                 .values(text_body=REMOVED_NOTE))
    # The old schema has no `cancelled`: such an email was never sent.
    bind.execute(emails.update().where(emails.c.status == 'cancelled').values(status='failed'))

    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        _status_check(batch_op, OLD_STATUSES)
        batch_op.alter_column('text_body', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('content_key_id')
