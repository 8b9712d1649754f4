"""who handled a 轉真人 request, and when

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("human_agent_requests") as batch:
        batch.add_column(sa.Column("handled_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("handled_at", bot.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("human_agent_requests") as batch:
        batch.drop_column("handled_at")
        batch.drop_column("handled_by")
