"""unanswered-questions log: resolution columns; staff-taught intent examples

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("message_log") as batch:
        batch.add_column(sa.Column("resolved_at", UTC, nullable=True))
        batch.add_column(sa.Column("resolved_as", sa.String(length=128), nullable=True))
    # The unanswered list reads open fallbacks only.
    op.create_index("ix_message_log_unanswered", "message_log", ["decision", "resolved_at"])
    op.create_table(
        "intent_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("intent_id", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_examples")),
    )
    op.create_index(op.f("ix_intent_examples_intent_id"), "intent_examples", ["intent_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_intent_examples_intent_id"), table_name="intent_examples")
    op.drop_table("intent_examples")
    op.drop_index("ix_message_log_unanswered", table_name="message_log")
    with op.batch_alter_table("message_log") as batch:
        batch.drop_column("resolved_as")
        batch.drop_column("resolved_at")
