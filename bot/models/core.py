"""Tables of the conversation spine: state, webhook dedup, outbox, FAQ, message log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, UTCDateTime, utcnow


class Conversation(Base):
    """Where one user is in a multi-turn flow. One row per user key (channel:id)."""

    __tablename__ = "conversations"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(64))
    step: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Counts consecutive misunderstandings, for the staged fallback.
    misses: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """Webhook event ids already handled, so LINE's redeliveries change nothing twice."""

    __tablename__ = "processed_events"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMessage(Base):
    """A message that must reach a user: written in the same transaction as its cause.

    kind 'reply' carries a reply token and falls back to push when the reply fails;
    kind 'push' is sent with `X-Line-Retry-Key` = retry_key so a retry is never doubled.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16), default="line")
    kind: Mapped[str] = mapped_column(String(16))  # reply | push
    to: Mapped[str] = mapped_column(String(128))
    reply_token: Mapped[str | None] = mapped_column(String(255))
    messages: Mapped[list] = mapped_column(JSONType)
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class FaqEntry(Base):
    """An FAQ answer staff keep up to date. `id` is the intent id (faq.<slug>)."""

    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    organ_no: Mapped[str | None] = mapped_column(String(32))
    seq: Mapped[str | None] = mapped_column(String(32))
    organ: Mapped[str | None] = mapped_column(String(128))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(512))
    # Extra phrasings residents use, matched like the question.
    examples: Mapped[list] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(16), default="staff")  # builtin | import | staff
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class CatalogVersion(Base):
    """A counter bumped whenever what the matcher learns from changes.

    Every worker compares it (cheaply, at most once a second) with the version it
    built its index from, and rebuilds when it moved: staff edits need no restart.
    """

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MessageLog(Base):
    """Every incoming message with the matcher's verdict, for evaluation and the unanswered log."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_unanswered", "decision", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    normalized: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(128), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str | None] = mapped_column(String(16))
    candidates: Mapped[list | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Unanswered messages staff have dealt with: when, and as what (intent id or "ignored").
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_as: Mapped[str | None] = mapped_column(String(128))


class IntentExample(Base):
    """A phrasing staff taught a built-in intent (built-in examples live in the repo's YAML)."""

    __tablename__ = "intent_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intent_id: Mapped[str] = mapped_column(String(128), index=True)
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HumanAgentRequest(Base):
    """A resident asked for a person (轉真人); staff pick these up."""

    __tablename__ = "human_agent_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    last_text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | answered | done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
