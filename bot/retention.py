"""How long operational rows are kept; a periodic job deletes older ones.

Cases, bookings, proposals and FAQ entries are records and are never purged here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.jobs import periodic
from bot.models import CaseLookupFailure, MessageLog, OutboxMessage, ProcessedEvent

# LINE redelivers within hours; a week of event ids is ample to recognise them.
PROCESSED_EVENTS = timedelta(days=7)
# Delivered and given-up messages, kept a while for staff to trace a complaint.
OUTBOX_DONE = timedelta(days=30)
# The lookup lockout looks back 15 minutes.
LOOKUP_FAILURES = timedelta(days=1)
# The message log feeds evaluation and the unanswered list; a year of it is plenty.
MESSAGE_LOG = timedelta(days=365)


@periodic
def purge_expired_rows(session: Session, now: datetime) -> None:
    session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < now - PROCESSED_EVENTS))
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status.in_(("sent", "failed")), OutboxMessage.created_at < now - OUTBOX_DONE
        )
    )
    session.execute(delete(CaseLookupFailure).where(CaseLookupFailure.at < now - LOOKUP_FAILURES))
    session.execute(delete(MessageLog).where(MessageLog.created_at < now - MESSAGE_LOG))
