"""One matcher per process, rebuilt in the background when the catalog version in the database moves."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from sqlalchemy import select

from bot.models import CatalogVersion, FaqEntry, IntentExample

from .catalog import Intent, faq_intent, load_builtin_intents
from .matcher import Matcher

# How often a worker looks at the catalog version (seconds). Staff edits reach
# every worker within this time, without a restart.
CHECK_INTERVAL = 1.0
# After a failed background rebuild, how long before the next attempt (seconds).
REBUILD_RETRY_AFTER = 30.0


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
    """Hands out the current matcher and keeps it in step with the catalog.

    The first build happens in the caller (there is nothing to answer with before it). Later
    rebuilds, after a staff edit moves the catalog version, run in a background thread while
    residents keep getting answers from the previous matcher: a rebuild takes 1-3 s with the
    city FAQ, and no resident should wait for it.
    """

    def __init__(self, sessionmaker, check_interval: float = CHECK_INTERVAL):
        self._sessionmaker = sessionmaker
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._version: int | None = None
        self._checked_at = 0.0
        self._rebuild: threading.Thread | None = None
        self._failed_at: float | None = None
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
                    self._check(own)
            else:
                self._check(session)
            self._checked_at = time.monotonic()
            assert self._matcher is not None
            return self._matcher

    def refresh(self, timeout: float = 60.0) -> Matcher:
        """Look at the catalog version now and wait for any rebuild it starts: for staff tools
        that want to see their own edit, and for tests."""
        for _ in range(2):  # a rebuild already running may have read an older version: look twice
            with self._lock:
                self._checked_at = float("-inf")
            self.get()
            if not self.wait(timeout):
                break
        return self.get()

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait for a background rebuild in progress; False if it is still running."""
        rebuild = self._rebuild
        if rebuild is not None:
            rebuild.join(timeout)
            return not rebuild.is_alive()
        return True

    def _check(self, session) -> None:
        version = catalog_version(session)
        if self._matcher is None:
            self._matcher = Matcher(self._intents(session))
            self._version = version
        elif version != self._version and self._rebuild is None and not self._backing_off():
            self._rebuild = threading.Thread(target=self._rebuild_now, name="matcher-rebuild", daemon=True)
            self._rebuild.start()

    def _backing_off(self) -> bool:
        # A rebuild that failed (the database went away, say) is retried, but not every second:
        # each attempt costs a core for a few seconds.
        return self._failed_at is not None and time.monotonic() - self._failed_at < REBUILD_RETRY_AFTER

    def _rebuild_now(self) -> None:
        try:
            with self._sessionmaker() as session, session.begin():
                version = catalog_version(session)
                intents = self._intents(session)
            matcher = Matcher(intents)  # outside the transaction: no connection held while building
        except Exception:
            logging.getLogger(__name__).exception("matcher rebuild failed; answering with the previous one")
            with self._lock:
                self._failed_at = time.monotonic()
                self._rebuild = None
            return
        with self._lock:
            self._matcher, self._version = matcher, version
            self._failed_at = None
            self._rebuild = None

    def _intents(self, session) -> list[Intent]:
        return [*with_staff_examples(session, self._builtin), *faq_intents(session)]
