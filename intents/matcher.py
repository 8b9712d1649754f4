"""Intent matching: score every intent against the message, decide, extract slots.

Scoring is rapidfuzz over normalized examples, narrowed first by a character
bigram index so the cost grows slowly with the FAQ catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz

from .catalog import Intent
from .normalize import fold, normalize
from .slots import extract_slots

Decision = Literal["answer", "clarify", "fallback"]

# Calibrated on the dev set (citizenbot eval): below THRESHOLD the bot falls back;
# when the runner-up is within MARGIN of the best, it asks which one was meant.
THRESHOLD = 62.0
MARGIN = 4.0


@dataclass(frozen=True)
class Verdict:
    text: str
    normalized: str
    intent: str
    score: float
    decision: Decision
    slots: dict[str, str] = field(default_factory=dict)
    alternatives: tuple[tuple[str, float], ...] = ()

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "intent": self.intent,
            "score": round(self.score, 1),
            "slots": self.slots,
            "alternatives": [{"intent": i, "score": round(s, 1)} for i, s in self.alternatives],
        }


def _bigrams(key: str) -> set[str]:
    if len(key) < 2:
        return {key} if key else set()
    return {key[i : i + 2] for i in range(len(key) - 1)}


class Matcher:
    def __init__(self, intents: Iterable[Intent], threshold: float = THRESHOLD, margin: float = MARGIN):
        self.intents: dict[str, Intent] = {}
        self.threshold = threshold
        self.margin = margin
        self._keys: list[str] = []
        self._owner: list[str] = []
        self._index: dict[str, list[int]] = defaultdict(list)
        for intent in intents:
            if intent.id in self.intents:
                raise ValueError(f"duplicate intent id {intent.id!r}")
            self.intents[intent.id] = intent
            for example in intent.examples:
                key = normalize(example)
                if not key:
                    continue
                n = len(self._keys)
                self._keys.append(key)
                self._owner.append(intent.id)
                for gram in _bigrams(key):
                    self._index[gram].append(n)

    def _candidates(self, key: str) -> Iterable[int]:
        grams = _bigrams(key)
        hits: dict[int, int] = defaultdict(int)
        for gram in grams:
            for n in self._index.get(gram, ()):
                hits[n] += 1
        if not hits:
            return ()
        # Keep the examples sharing the most bigrams; rapidfuzz then ranks them.
        ranked = sorted(hits.items(), key=lambda kv: -kv[1])[:200]
        return [n for n, _ in ranked]

    def scores(self, key: str) -> list[tuple[str, float]]:
        best: dict[str, float] = {}
        for n in self._candidates(key):
            example = self._keys[n]
            score = max(
                fuzz.ratio(key, example),
                # A short example wholly inside a longer message still counts, a little less.
                fuzz.partial_ratio(key, example) * 0.9 if len(example) >= 2 else 0.0,
            )
            owner = self._owner[n]
            if score > best.get(owner, 0.0):
                best[owner] = score
        return sorted(best.items(), key=lambda kv: -kv[1])

    def match(self, text: str) -> Verdict:
        key = normalize(text)
        slots = extract_slots(fold(text), key)
        ranked = self.scores(key) if key else []
        if not ranked or ranked[0][1] < self.threshold:
            top = ranked[0][1] if ranked else 0.0
            return Verdict(text, key, "fallback", top, "fallback", slots, tuple(ranked[:3]))
        intent, score = ranked[0]
        alternatives = tuple(ranked[1:4])
        decision: Decision = "answer"
        if alternatives and score - alternatives[0][1] < self.margin:
            decision = "clarify"
        return Verdict(text, key, intent, score, decision, slots, alternatives)
