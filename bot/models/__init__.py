"""All tables on one `Base`. Each feature keeps its own module; import them all here
so Alembic and the tests see the whole schema."""

from .base import Base, JSONType, UTCDateTime, utcnow
from .cases import Case, CaseCounter, CaseFollower, CaseHistory, CaseLookupFailure, CasePhoto
from .core import (
    CatalogVersion,
    Conversation,
    FaqEntry,
    HumanAgentRequest,
    IntentExample,
    MessageLog,
    OutboxMessage,
    ProcessedEvent,
)
from .legal import LegalBlockedDate, LegalBooking
from .proposals import Proposal, ProposalCosign
from .video import VideoRequest

__all__ = [
    "Base",
    "Case",
    "CaseCounter",
    "CaseFollower",
    "CaseHistory",
    "CaseLookupFailure",
    "CasePhoto",
    "CatalogVersion",
    "Conversation",
    "FaqEntry",
    "HumanAgentRequest",
    "IntentExample",
    "JSONType",
    "LegalBlockedDate",
    "LegalBooking",
    "MessageLog",
    "OutboxMessage",
    "ProcessedEvent",
    "Proposal",
    "ProposalCosign",
    "UTCDateTime",
    "VideoRequest",
    "utcnow",
]
