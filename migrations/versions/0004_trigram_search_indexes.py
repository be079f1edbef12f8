"""trigram indexes for partial-match search, room for recall updates (PostgreSQL only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 20:20:00

SQLite answers the same searches from its covering indexes; it gets nothing here.
`pg_trgm` is a trusted extension (PostgreSQL 13+): the database owner may create it.
A fill factor of 90 leaves room in each page, so a recall (which changes no
indexed column) is a HOT update that touches no index.
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("ALTER TABLE secure_messages SET (fillfactor = 90)")
    op.create_index("ix_secure_messages_subject_trgm", "secure_messages", ["subject"],
                    postgresql_using="gin", postgresql_ops={"subject": "gin_trgm_ops"})
    op.create_index("ix_users_email_trgm", "users", ["email"],
                    postgresql_using="gin", postgresql_ops={"email": "gin_trgm_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE secure_messages RESET (fillfactor)")
    op.drop_index("ix_users_email_trgm", table_name="users")
    op.drop_index("ix_secure_messages_subject_trgm", table_name="secure_messages")
