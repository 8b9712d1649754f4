"""citizen proposals and their co-signs

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = bot.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("proposer_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cosign_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTC, nullable=True),
        sa.Column("deadline", UTC, nullable=True),
        sa.Column("passed_at", UTC, nullable=True),
        sa.Column("agency", sa.String(length=128), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index("ix_proposals_status_deadline", "proposals", ["status", "deadline"])
    op.create_index(op.f("ix_proposals_proposer_key"), "proposals", ["proposer_key"])
    op.create_table(
        "proposal_cosigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_cosigns_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_cosigns")),
        sa.UniqueConstraint("proposal_id", "user_key", name="uq_proposal_cosigns_once"),
    )


def downgrade() -> None:
    op.drop_table("proposal_cosigns")
    op.drop_index(op.f("ix_proposals_proposer_key"), table_name="proposals")
    op.drop_index("ix_proposals_status_deadline", table_name="proposals")
    op.drop_table("proposals")
