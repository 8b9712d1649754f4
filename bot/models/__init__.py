"""All tables on one `Base`. Each feature keeps its own module; import them all here
so Alembic and the tests see the whole schema."""

from .base import Base, JSONType, UTCDateTime, utcnow
from .core import (
    CatalogVersion,
    Conversation,
    FaqEntry,
    HumanAgentRequest,
    MessageLog,
    OutboxMessage,
    ProcessedEvent,
)

__all__ = [
    "Base",
    "CatalogVersion",
    "Conversation",
    "FaqEntry",
    "HumanAgentRequest",
    "JSONType",
    "MessageLog",
    "OutboxMessage",
    "ProcessedEvent",
    "UTCDateTime",
    "utcnow",
]
