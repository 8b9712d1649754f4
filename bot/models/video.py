"""Sign-language video sessions: a resident's request, the interpreter, the outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class VideoRequest(Base):
    """One request for a sign-language video session.

    status: waiting (in the queue now) | scheduled (a chosen time) | in_session
    (an interpreter accepted; the link was pushed) | done | cancelled.
    Requests never expire on their own: only the resident or an interpreter closes them.
    """

    __tablename__ = "video_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))  # now | scheduled
    topic: Mapped[str | None] = mapped_column(String(16))  # inquiry | petition | dispatch
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Asked outside service hours: contacted when the service opens.
    outside_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last queue position pushed to the resident, so moves are pushed once.
    last_position: Mapped[int | None] = mapped_column(Integer)
    interpreter: Mapped[str | None] = mapped_column(String(64))
    meeting_url: Mapped[str | None] = mapped_column(String(512))
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A scheduled session's reminder (shortly before its time) went out.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_video_requests_status", "status", "id"),)
