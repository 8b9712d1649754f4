"""Cases: petitions (陳情, kind P) and dispatch reports (派工, kind D), with their
append-only history, photos, followers, number counters and failed lookups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


class CaseCounter(Base):
    """The last sequence number handed out per kind and year; its row is locked while
    a case is created, so numbers are unique and gap-free under concurrency."""

    __tablename__ = "case_counters"

    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # D2026-000123
    kind: Mapped[str] = mapped_column(String(1))  # D dispatch | P petition
    category: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # True when the point is a district centroid, not where the resident stood.
    location_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(255))
    district: Mapped[str | None] = mapped_column(String(8))
    # Reporter: never exposed through Open311.
    source: Mapped[str] = mapped_column(String(16))  # line | web | console | open311 | staff
    reporter_key: Mapped[str | None] = mapped_column(String(128))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_email: Mapped[str | None] = mapped_column(String(255))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    media_url: Mapped[str | None] = mapped_column(String(1024))
    agency: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(64))
    agency_phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # sha256 of number and code; compared in constant time.
    verify_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    history: Mapped[list[CaseHistory]] = relationship(
        back_populates="case", order_by="CaseHistory.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[CasePhoto]] = relationship(back_populates="case", order_by="CasePhoto.id")

    __table_args__ = (
        # A resident's cases, newest first.
        Index("ix_cases_reporter", "reporter_key", "created_at"),
        # Duplicate search: same category, recent, then a lat/lng box.
        Index("ix_cases_dup", "category", "created_at", "latitude", "longitude"),
        # Open311 listing by date; the overdue job.
        Index("ix_cases_created_at", "created_at"),
        Index("ix_cases_due", "overdue", "due_at"),
    )


class CaseHistory(Base):
    """Append-only: status changes, notes, agency changes, overdue marks."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # status | note | agency | overdue | follow
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))

    case: Mapped[Case] = relationship(back_populates="history")


class CasePhoto(Base):
    """A photo; case_id stays NULL while the report flow that uploaded it is pending."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    user_key: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    case: Mapped[Case | None] = relationship(back_populates="photos")


class CaseFollower(Base):
    """Someone notified on a case they did not report (e.g. chose 追蹤該案件 on a duplicate)."""

    __tablename__ = "case_followers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseLookupFailure(Base):
    """A failed lookup of someone else's case (unknown number or wrong code), for the lockout.

    `user_key` is who failed, or `case:<number>` for failures on one case by anyone."""

    __tablename__ = "case_lookup_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_case_lookup_failures_user_at", "user_key", "at"),)
