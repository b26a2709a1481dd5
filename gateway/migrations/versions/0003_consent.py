"""consent ledger, consent reviews, retention runs, erasure and purge marks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The ledger is append-only in the database itself, not only in the code above it: no
# update ever, and a delete only of evidence older than five years that is not an opt-out
# (retention's floor; the job adds that the current state is never purged).
_SQLITE_GUARDS = (
    """
    CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
    BEGIN
        SELECT RAISE(ABORT, 'consent_events is append-only: record a new event instead');
    END
    """,
    """
    CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
    WHEN old.action IN ('opted_out', 'revoked')
        OR old.recorded_at > datetime('now', '-5 years')
    BEGIN
        SELECT RAISE(ABORT, 'consent evidence is kept: opt-outs always, the rest 5 years');
    END
    """,
)
_POSTGRESQL_GUARDS = (
    """
    CREATE FUNCTION consent_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'consent_events is append-only: record a new event instead';
        END IF;
        IF OLD.action IN ('opted_out', 'revoked')
            OR OLD.recorded_at > (now() AT TIME ZONE 'UTC') - interval '5 years' THEN
            RAISE EXCEPTION 'consent evidence is kept: opt-outs always, the rest 5 years';
        END IF;
        RETURN OLD;
    END
    $$
    """,
    """
    CREATE TRIGGER consent_events_guard BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION consent_events_guard()
    """,
)


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("evidence_enc", sa.LargeBinary(), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("line_id", sa.String(length=40), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", gateway.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_contact", "consent_events", ["contact_id", "recorded_at"])
    op.create_table(
        "consent_reviews",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("received_at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", gateway.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_reviews_contact_id", "consent_reviews", ["contact_id"])
    op.create_index("ix_consent_reviews_open", "consent_reviews", ["status", "due_on"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("bodies_before", gateway.models.UtcDateTime(), nullable=True),
        sa.Column("bodies_purged", sa.Integer(), nullable=False),
        sa.Column("consent_before", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("consent_events_purged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.add_column(sa.Column("erased_at", gateway.models.UtcDateTime(), nullable=True))
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("body_purged_at", gateway.models.UtcDateTime(), nullable=True)
        )
    guards = _POSTGRESQL_GUARDS if op.get_bind().dialect.name == "postgresql" else _SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER consent_events_guard ON consent_events")
        op.execute("DROP FUNCTION consent_events_guard()")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("body_purged_at")
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.drop_column("erased_at")
    op.drop_table("retention_runs")
    op.drop_index("ix_consent_reviews_open", table_name="consent_reviews")
    op.drop_index("ix_consent_reviews_contact_id", table_name="consent_reviews")
    op.drop_table("consent_reviews")
    op.drop_index("ix_consent_contact", table_name="consent_events")
    op.drop_table("consent_events")
