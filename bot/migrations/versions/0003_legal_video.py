"""legal consultation bookings and sign-language video sessions

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status = 'booked'")


def upgrade() -> None:
    op.create_table(
        "legal_bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("slot_start", sa.String(length=5), nullable=False),
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("topic_kind", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_bookings")),
    )
    op.create_index(op.f("ix_legal_bookings_user_key"), "legal_bookings", ["user_key"])
    op.create_index("ix_legal_bookings_date_status", "legal_bookings", ["date", "status"])
    # Partial unique indexes: the database itself refuses a second active booking
    # of one slot (or of one person on one day), whatever the race.
    op.create_index(
        "uq_legal_bookings_active_slot",
        "legal_bookings",
        ["site_id", "date", "slot_start"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_index(
        "uq_legal_bookings_active_user_day",
        "legal_bookings",
        ["user_key", "date"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_table(
        "legal_blocked_dates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", bot.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_blocked_dates")),
    )
    op.create_index(op.f("ix_legal_blocked_dates_date"), "legal_blocked_dates", ["date"])
    op.create_table(
        "video_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_for", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outside_hours", sa.Boolean(), nullable=False),
        sa.Column("last_position", sa.Integer(), nullable=True),
        sa.Column("interpreter", sa.String(length=64), nullable=True),
        sa.Column("meeting_url", sa.String(length=512), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("created_at", bot.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", bot.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_requests")),
    )
    op.create_index(op.f("ix_video_requests_user_key"), "video_requests", ["user_key"])
    op.create_index("ix_video_requests_status", "video_requests", ["status", "id"])


def downgrade() -> None:
    op.drop_table("video_requests")
    op.drop_table("legal_blocked_dates")
    op.drop_table("legal_bookings")
