"""workspace: organisations, users, incidents' logbook, tasks, decisions, status pages

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _incident_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    # A function: a Column object belongs to one table, so each use gets fresh ones.
    return [
        sa.Column("severity", sa.String(length=20), server_default="unknown", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("services", sa.Text(), server_default="[]", nullable=False),
        sa.Column("first_seen_at", TS, nullable=True),
        sa.Column("owner_org_id", sa.Integer(), nullable=True),
        sa.Column("log_head", sa.String(length=64), server_default="", nullable=False),
        sa.Column("log_count", sa.Integer(), server_default="0", nullable=False),
    ]


def _incident_fk(name: str = "incident_id") -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for column in _incident_columns():
            batch.add_column(column)
    op.create_table(
        "ws_orgs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(length=60), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("ws_orgs.id"), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "ws_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(length=254), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "ws_memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("ws_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "org_id",
            sa.Integer(),
            sa.ForeignKey("ws_orgs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.UniqueConstraint("user_id", "org_id", name="uq_ws_memberships"),
    )
    op.create_table(
        "ws_incident_orgs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("ws_orgs.id"), nullable=False),
        sa.UniqueConstraint("incident_id", "org_id", name="uq_ws_incident_orgs"),
    )
    op.create_table(
        "ws_invitations",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("ws_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.UniqueConstraint("incident_id", "user_id", name="uq_ws_invitations"),
    )
    op.create_table(
        "ws_log_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.UniqueConstraint("incident_id", "seq", name="uq_ws_log_seq"),
    )
    op.create_table(
        "ws_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column("playbook", sa.String(length=80), nullable=True),
        sa.Column("step", sa.String(length=80), nullable=True),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), sa.ForeignKey("ws_users.id"), nullable=True),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "ws_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("ws_users.id"), nullable=True),
        sa.Column("decided_at", TS, nullable=False),
    )
    op.create_table(
        "ws_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_table(
        "ws_incident_scans",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column(
            "scan_id",
            sa.Integer(),
            sa.ForeignKey("scans.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("ws_orgs.id"), nullable=True),
        sa.Column("share", sa.String(length=300), nullable=False),
        sa.UniqueConstraint("scan_id", name="uq_ws_incident_scans"),
    )
    op.create_table(
        "ws_status_updates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer(),
            sa.ForeignKey("ws_orgs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_fr", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("drafted_by", sa.Integer(), sa.ForeignKey("ws_users.id"), nullable=True),
        sa.Column("drafted_at", TS, nullable=False),
        sa.Column("reviewed_by", sa.Integer(), sa.ForeignKey("ws_users.id"), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
    )
    op.create_table(
        "ws_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("ws_users.id"), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=60), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
    )
    op.create_table(
        "ws_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("ws_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_table(
        "ws_login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_ws_login_failures_email", "ws_login_failures", ["email"])
    op.create_index("ix_ws_login_failures_address", "ws_login_failures", ["address"])
    op.create_table(
        "ws_alert_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        _incident_fk(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("incident_id", name="uq_ws_alert_tokens"),
    )
    op.create_table(
        "ws_secrets",
        sa.Column("name", sa.String(length=60), primary_key=True),
        sa.Column("value", sa.String(length=200), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_ws_login_failures_address", "ws_login_failures")
    op.drop_index("ix_ws_login_failures_email", "ws_login_failures")
    for table in (
        "ws_secrets",
        "ws_alert_tokens",
        "ws_login_failures",
        "ws_sessions",
        "ws_audit",
        "ws_status_updates",
        "ws_incident_scans",
        "ws_contacts",
        "ws_decisions",
        "ws_tasks",
        "ws_log_entries",
        "ws_invitations",
        "ws_incident_orgs",
        "ws_memberships",
        "ws_users",
        "ws_orgs",
    ):
        op.drop_table(table)
    with op.batch_alter_table("incidents") as batch:
        for column in reversed(_incident_columns()):
            batch.drop_column(column.name)
