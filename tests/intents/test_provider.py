"""The matcher provider: staff edits are rebuilt in the background while residents are answered."""

from __future__ import annotations

import logging
import threading

import intents.provider
from bot import faq_store
from intents.provider import REBUILD_RETRY_AFTER, MatcherProvider

QUESTION = "市民卡遺失怎麼補辦"


def add_entry(db) -> str:
    with db.sessionmaker() as session, session.begin():
        entry = faq_store.add_entry(
            session,
            question=QUESTION,
            answer="攜帶身分證件到區公所辦理補發。",
            entry_id="faq.card_lost",
            by="erin",
        )
        return entry.id


class GatedMatcher:
    """Stands in for the Matcher class: each build waits for the gate, or fails when told to."""

    def __init__(self, monkeypatch):
        self.real = intents.provider.Matcher
        self.gate = threading.Event()
        self.started = threading.Event()
        self.fail = False
        self.builds = 0
        monkeypatch.setattr(intents.provider, "Matcher", self)

    def __call__(self, *args, **kwargs):
        self.builds += 1
        self.started.set()
        if not self.gate.wait(30):
            raise TimeoutError("the test never opened the gate")
        if self.fail:
            raise RuntimeError("the database went away")
        return self.real(*args, **kwargs)


def test_residents_are_answered_by_the_old_matcher_while_an_edit_is_rebuilt(db, monkeypatch, provider_clock):
    provider = MatcherProvider(db.sessionmaker, check_interval=0)
    before = provider.get()
    assert before.match(QUESTION).intent != "faq.card_lost"
    gated = GatedMatcher(monkeypatch)
    entry_id = add_entry(db)

    # The rebuild is held at the gate, yet every message gets an answer at once, and checking
    # again does not start a second rebuild.
    for _ in range(3):
        assert provider.get() is before
    assert gated.started.wait(30)
    assert provider.get() is before
    assert provider.wait(timeout=0.05) is False
    assert gated.builds == 1

    gated.gate.set()
    assert provider.wait()
    assert provider.get().match(QUESTION).intent == entry_id
    assert gated.builds == 1


def test_a_failed_rebuild_keeps_the_old_matcher_and_is_retried_later(db, monkeypatch, provider_clock, caplog):
    provider = MatcherProvider(db.sessionmaker, check_interval=0)
    before = provider.get()
    gated = GatedMatcher(monkeypatch)
    gated.gate.set()
    gated.fail = True
    entry_id = add_entry(db)

    with caplog.at_level(logging.ERROR, logger="intents.provider"):
        assert provider.get() is before
        assert provider.wait()
    assert "matcher rebuild failed" in caplog.text
    # Still the old matcher, and no new attempt on every message (each costs a core for seconds).
    for _ in range(3):
        assert provider.get() is before
    assert gated.builds == 1

    gated.fail = False
    provider_clock.now += REBUILD_RETRY_AFTER + 1
    assert provider.get() is before  # this message starts the retry…
    assert provider.wait()
    assert provider.get().match(QUESTION).intent == entry_id  # …and the next ones see the edit
    assert gated.builds == 2


def test_refresh_waits_for_the_rebuild_an_edit_needs(db):
    provider = MatcherProvider(db.sessionmaker)  # the default interval: a plain get() would not look yet
    provider.get()
    entry_id = add_entry(db)
    assert provider.get().match(QUESTION).intent != entry_id
    assert provider.refresh().match(QUESTION).intent == entry_id
