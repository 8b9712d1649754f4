"""One matcher per process, rebuilt when the catalog version in the database moves."""

from __future__ import annotations

import dataclasses
import threading
import time

from sqlalchemy import select

from bot.models import CatalogVersion, FaqEntry, IntentExample

from .catalog import Intent, faq_intent, load_builtin_intents
from .matcher import Matcher

# How often a worker looks at the catalog version (seconds). Staff edits reach
# every worker within this time, without a restart.
CHECK_INTERVAL = 1.0


def catalog_version(session) -> int:
    return session.scalar(select(CatalogVersion.version).where(CatalogVersion.id == 1)) or 0


def bump_catalog_version(session) -> None:
    """Call in the same transaction as any change to what the matcher learns from."""
    row = session.get(CatalogVersion, 1, with_for_update=True)
    if row is None:
        session.add(CatalogVersion(id=1, version=1))
    else:
        row.version += 1


def faq_intents(session) -> list[Intent]:
    rows = session.scalars(select(FaqEntry).where(FaqEntry.active.is_(True)).order_by(FaqEntry.id))
    return [faq_intent(r.id, r.question, r.answer, r.examples or (), url=r.url, organ=r.organ) for r in rows]


def with_staff_examples(session, builtin: list[Intent]) -> list[Intent]:
    """Built-in intents plus the phrasings staff taught them (from the unanswered log)."""
    taught: dict[str, list[str]] = {}
    for intent_id, text in session.execute(select(IntentExample.intent_id, IntentExample.text)):
        taught.setdefault(intent_id, []).append(text)
    if not taught:
        return builtin
    return [
        dataclasses.replace(i, examples=(*i.examples, *taught[i.id])) if i.id in taught else i
        for i in builtin
    ]


class MatcherProvider:
    def __init__(self, sessionmaker, check_interval: float = CHECK_INTERVAL):
        self._sessionmaker = sessionmaker
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._version: int | None = None
        self._checked_at = 0.0
        self._builtin = load_builtin_intents()

    def get(self, session=None) -> Matcher:
        """The current matcher. Pass the caller's session when inside a transaction:
        on SQLite a second connection would wait for the first one's write lock."""
        now = time.monotonic()
        if self._matcher is not None and now - self._checked_at < self._check_interval:
            return self._matcher
        with self._lock:
            if self._matcher is not None and now - self._checked_at < self._check_interval:
                return self._matcher
            if session is None:
                with self._sessionmaker() as own, own.begin():
                    self._refresh(own)
            else:
                self._refresh(session)
            self._checked_at = time.monotonic()
            assert self._matcher is not None
            return self._matcher

    def _refresh(self, session) -> None:
        version = catalog_version(session)
        if self._matcher is None or version != self._version:
            self._matcher = Matcher([*with_staff_examples(session, self._builtin), *faq_intents(session)])
            self._version = version
