"""team inbox: teams, routing rules, conversations, notes, templates, the audit log;
people's hours, away status and supervision; lines' hours and holidays

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:41:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The audit log is append-only in the database itself: nobody, an admin included, edits or
# removes what was seen, handed over, approved, overridden, exported or erased.
_SQLITE_GUARDS = (
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only');
    END
    """,
    """
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN
        SELECT RAISE(ABORT, 'audit_events is append-only');
    END
    """,
)
_POSTGRESQL_GUARDS = (
    """
    CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_guard BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_guard()
    """,
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_subject", ["subject", "at"], unique=False)

    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("default_line_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", gateway.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_line_id"],
            ["lines.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("updated_at", gateway.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index("ix_templates_owner", ["owner_id", "name"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("line_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("snoozed_until", gateway.models.UtcDateTime(), nullable=True),
        sa.Column("assignee_id", sa.String(length=40), nullable=True),
        sa.Column("team_id", sa.String(length=40), nullable=True),
        sa.Column("unread", sa.Boolean(), nullable=False),
        sa.Column("last_activity_at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("last_inbound_at", gateway.models.UtcDateTime(), nullable=True),
        sa.Column("last_human_reply_at", gateway.models.UtcDateTime(), nullable=True),
        sa.Column("created_at", gateway.models.UtcDateTime(), nullable=False),
        sa.Column("updated_at", gateway.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_activity", ["status", "last_activity_at"], unique=False
        )
        batch_op.create_index("ix_conversations_assignee", ["assignee_id", "status"], unique=False)
        batch_op.create_index("ix_conversations_team", ["team_id", "status"], unique=False)
        batch_op.create_index(
            "ux_conversations_contact_line", ["contact_id", "line_id"], unique=True
        )

    op.create_table(
        "routing_rules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=64), nullable=True),
        sa.Column("line_id", sa.String(length=40), nullable=True),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", gateway.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("last_assigned_at", gateway.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", gateway.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_notes_conversation_id"), ["conversation_id"], unique=False
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("away_replied_at", gateway.models.UtcDateTime(), nullable=True)
        )

    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hours", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("holidays", sa.Text(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("working_hours", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("away", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("away_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("delegate_id", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("supervised", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.create_foreign_key("fk_users_delegate", "users", ["delegate_id"], ["id"])

    guards = _POSTGRESQL_GUARDS if op.get_bind().dialect.name == "postgresql" else _SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_guard ON audit_events")
        op.execute("DROP FUNCTION audit_events_guard()")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("fk_users_delegate", type_="foreignkey")
        batch_op.drop_column("supervised")
        batch_op.drop_column("delegate_id")
        batch_op.drop_column("away_until")
        batch_op.drop_column("away")
        batch_op.drop_column("working_hours")
        batch_op.drop_column("signature")
        batch_op.drop_column("display_name")

    with op.batch_alter_table("lines", schema=None) as batch_op:
        batch_op.drop_column("holidays")
        batch_op.drop_column("hours")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("away_replied_at")

    with op.batch_alter_table("conversation_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_notes_conversation_id"))

    op.drop_table("conversation_notes")
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_user_id"))

    op.drop_table("team_members")
    op.drop_table("routing_rules")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ux_conversations_contact_line")
        batch_op.drop_index("ix_conversations_team")
        batch_op.drop_index("ix_conversations_assignee")
        batch_op.drop_index("ix_conversations_activity")

    op.drop_table("conversations")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index("ix_templates_owner")

    op.drop_table("templates")
    op.drop_table("teams")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_subject")
        batch_op.drop_index("ix_audit_at")

    op.drop_table("audit_events")
