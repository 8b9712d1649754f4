"""Operational rows are purged when old; records and recent rows stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.jobs import run_all
from bot.models import CaseLookupFailure, MessageLog, OutboxMessage, ProcessedEvent


def test_old_operational_rows_are_purged(db):
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=400), now - timedelta(hours=1)
    with db.session() as s:
        s.add_all(
            [
                ProcessedEvent(webhook_event_id="old", received_at=old),
                ProcessedEvent(webhook_event_id="recent", received_at=recent),
                OutboxMessage(
                    kind="push", to="U1", messages=[], retry_key="k-old-sent", status="sent", created_at=old
                ),
                OutboxMessage(
                    kind="push",
                    to="U1",
                    messages=[],
                    retry_key="k-old-pending",
                    status="pending",
                    created_at=old,
                ),
                CaseLookupFailure(user_key="web:x", at=old),
                MessageLog(user_key="web:x", channel="web", kind="text", text="舊", created_at=old),
                MessageLog(user_key="web:x", channel="web", kind="text", text="新", created_at=recent),
            ]
        )
    run_all(db, now)
    with db.session() as s:
        assert s.scalars(select(ProcessedEvent.webhook_event_id)).all() == ["recent"]
        # An undelivered message is never purged, however old.
        assert s.scalars(select(OutboxMessage.retry_key)).all() == ["k-old-pending"]
        assert s.scalars(select(CaseLookupFailure)).all() == []
        assert s.scalars(select(MessageLog.text)).all() == ["新"]
