"""Free legal consultation: bookings of 15-minute slots and dates staff block."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

# The partial unique indexes below count only bookings in this state.
ACTIVE = "booked"


class LegalBooking(Base):
    """One resident's 15-minute slot at a site on a date.

    A slot is never given twice: a partial unique index over (site, date, slot)
    for active bookings, so a concurrent second insert fails in the database.
    One booking per person per day: the same over (user, date).
    """

    __tablename__ = "legal_bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(String(32))
    date: Mapped[date] = mapped_column(Date)
    slot_start: Mapped[str] = mapped_column(String(5))  # "HH:MM", Asia/Taipei
    user_key: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str | None] = mapped_column(Text)
    topic_kind: Mapped[str | None] = mapped_column(String(32))
    # booked | cancelled (by the resident) | blocked (the date was blocked by staff)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "uq_legal_bookings_active_slot",
            "site_id",
            "date",
            "slot_start",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
        Index(
            "uq_legal_bookings_active_user_day",
            "user_key",
            "date",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
        Index("ix_legal_bookings_date_status", "date", "status"),
    )


class LegalBlockedDate(Base):
    """A date with no consultation (holiday, typhoon day); site_id None blocks every site."""

    __tablename__ = "legal_blocked_dates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    site_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
