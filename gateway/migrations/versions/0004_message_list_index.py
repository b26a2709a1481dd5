"""index for message lists filtered by status, newest first

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_status_created", "messages", ["status", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_messages_status_created", table_name="messages")
