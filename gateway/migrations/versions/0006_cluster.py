"""several boxes, one queue: worker leases, and which worker a line belongs to

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("stopped_at", gateway.models.UtcDateTime(), nullable=True),
        sa.Column("taken_over_at", gateway.models.UtcDateTime(), nullable=True),
        sa.Column("taken_over_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=64), nullable=True))
    # "<worker>/<line>" is up to 48 + 1 + 64 characters: PostgreSQL refused a claim by a
    # box and a line with long names (SQLite does not enforce the length).
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column(
            "claimed_by", type_=sa.String(length=128), existing_type=sa.String(length=64)
        )
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.alter_column(
            "actor", type_=sa.String(length=128), existing_type=sa.String(length=64)
        )
    if op.get_bind().dialect.name == "postgresql":
        # The claim reads the queue through ix_messages_queue only once PostgreSQL has
        # statistics on it; without them it sorts every queued row (29 ms a claim at 20,000
        # queued, measured by bench/bench_cluster.py). By default a table is re-analysed
        # after 10 % of it changes, and a bulk send onto years of archive is far less:
        # analyse after 1,000 changed rows instead.
        op.execute(
            "ALTER TABLE messages SET (autovacuum_analyze_scale_factor = 0, "
            "autovacuum_analyze_threshold = 1000)"
        )


def downgrade() -> None:
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.alter_column(
            "actor", type_=sa.String(length=64), existing_type=sa.String(length=128)
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column(
            "claimed_by", type_=sa.String(length=64), existing_type=sa.String(length=128)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE messages RESET (autovacuum_analyze_scale_factor, "
            "autovacuum_analyze_threshold)"
        )
    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.drop_column("worker")

    op.drop_table("workers")
