"""timeline: normalized events from logs and scans, rule matches

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "timeline_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=40), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "source_key", name="uq_timeline_sources"),
    )
    op.create_table(
        "timeline_events",
        sa.Column("id", _BIGID, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=64), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=True),
        sa.Column("ts_text", sa.String(length=64), nullable=False),
        sa.Column("ts_precision", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("process", sa.Text(), nullable=False),
        sa.Column("command_line", sa.Text(), nullable=False),
        sa.Column("parent", sa.Text(), nullable=False),
        sa.Column("logon_type", sa.Integer(), nullable=True),
        sa.Column("src_addr", sa.String(length=255), nullable=False),
        sa.Column("target_host", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.ForeignKeyConstraint(["source_id"], ["timeline_sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "record_key", name="uq_timeline_events_record"),
    )
    op.create_index("ix_timeline_events_time", "timeline_events", ["incident_id", "ts_us"])
    op.create_table(
        "timeline_matches",
        sa.Column("id", _BIGID, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("event_pk", _BIGID, nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_title", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("story", sa.String(length=40), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_pk"], ["timeline_events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_pk", "rule_id", name="uq_timeline_matches"),
    )
    op.create_index("ix_timeline_matches_incident", "timeline_matches", ["incident_id", "level"])


def downgrade() -> None:
    op.drop_index("ix_timeline_matches_incident", table_name="timeline_matches")
    op.drop_table("timeline_matches")
    op.drop_index("ix_timeline_events_time", table_name="timeline_events")
    op.drop_table("timeline_events")
    op.drop_table("timeline_sources")
