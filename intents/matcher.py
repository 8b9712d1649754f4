"""Intent matching: score every intent against the message, decide, extract slots.

1. The message is normalized (`normalize.py`) into a key.
2. Built-in intents: a character n-gram inverted index with IDF weights narrows the
   examples to a few dozen candidates; each gets rapidfuzz's ratio blended with an
   IDF-weighted n-gram overlap. An intent's score is its best example's. Cues (a
   street thing AND a fault…, unless a veto word: 罷免連署) set a floor.
3. FAQ entries: BM25 over character n-grams of the question (answer weighted low),
   with colloquial words expanded to official ones, re-ranked with word vectors
   (`faq_index.py`, `wordvectors.py`). The
   out-of-scope examples sit in the same index, so chit-chat beats an FAQ entry on
   the entry's own scale. FAQ scores are mapped so FAQ_THRESHOLD lands on THRESHOLD.
4. Services first: a built-in intent within BUILTIN_EDGE of a winning FAQ entry wins;
   the out-of-scope examples act as a pseudo-intent whose win means fallback.
5. Decision: below THRESHOLD → fallback (with up to three near misses as
   suggestions); runner-up within MARGIN → clarify. The FAQ threshold relaxes for
   long messages (chit-chat is short).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rapidfuzz import fuzz

from data import names_elsewhere

from . import wordvectors
from .catalog import Intent, load_out_of_scope
from .classifier import CategoryClassifier, FaqScope, ServiceClassifier
from .faq_index import QUESTION_TYPE_MISMATCH, TOPIC_FLOOR, FaqIndex
from .normalize import ALL_STEPS, Steps, fold, normalize_pair
from .slots import extract_category, extract_slots, names_another_number, without_districts

Decision = Literal["answer", "clarify", "fallback"]

# Calibrated on the tune split (citizenbot eval --calibrate): below THRESHOLD the bot falls back;
# when the runner-up is within MARGIN of the best, it asks which one was meant.
THRESHOLD = 62.0
MARGIN = 4.0
# FAQ entries are scored by BM25 coverage scaled by topic-word coverage (faq_index.py),
# on a scale of their own.
FAQ_THRESHOLD = 40.0
# From this many characters on, each further character lowers the FAQ threshold by
# LONG_STEP, down to LONG_FLOOR of it.
LONG_MESSAGE = 12
LONG_STEP = 1.0
LONG_FLOOR = 0.6
# Below the threshold, intents scoring at least this are offered as "did you mean".
SUGGEST = 45.0
# A built-in intent this close to a winning FAQ entry wins instead: services first.
BUILTIN_EDGE = 12.0
# An FAQ entry this close behind a service the model does not side with is offered beside it.
CONTEST_EDGE = 15.0
# An FAQ question this similar (rapidfuzz ratio) to the message counts as asked verbatim.
VERBATIM = 90.0
# An FAQ entry scoring at least this is answered whatever the FAQ scope model says: the
# message holds what the entry asks (博愛卡掉了要怎麼掛失 scores 100, yet its characters read
# like chit-chat to that model). Chosen on the read sets: 88–95 won three FAQ rows, 80 lost two
# out-of-scope rows.
FAQ_DOUBT_CEILING = 90.0
# How many examples the n-gram index hands to rapidfuzz.
CANDIDATES = 40
# Weight of the order-aware rapidfuzz ratio against the IDF n-gram overlap.
FUZZ_WEIGHT = 0.5
# FAQ answers count for this much of an FAQ intent's score (questions count most).
ANSWER_WEIGHT = 0.1
# FAQ entries the BM25 index hands to the decision.
FAQ_CANDIDATES = 5

NONE = "none"  # the out-of-scope pseudo-intent; never leaves the matcher
DISPATCH = "dispatch_report"  # the one intent with a category slot


@dataclass(frozen=True)
class Options:
    """Parts of the matcher that the ablation switches off one at a time."""

    steps: Steps = ALL_STEPS
    cues: bool = True
    index: bool = True  # False: rapidfuzz on every example (slow, for comparison)
    out_of_scope: bool = True
    builtin_priority: bool = True
    answer_weight: float = ANSWER_WEIGHT
    fuzz_weight: float = FUZZ_WEIGHT
    faq_bm25: bool = True  # False: FAQ questions are plain examples (the older scoring)
    vocabulary: bool = True  # colloquial → official words for the FAQ lookup
    topic_words: bool = True  # FAQ entries missing the query's rare words score less
    entry_topics: bool = True  # topic words looked for in all of an entry's texts together
    word_vectors: bool = True  # FAQ scores include word-vector similarity (wordvectors.py)
    question_types: bool = True  # an FAQ entry asking for another kind of answer scores less
    phrasings: bool = True  # residents' phrasings shipped for the city FAQ (data/city_faq_phrasings.yaml)
    classifier: bool = True  # a linear model's second opinion on the services (classifier.py)
    faq_scope: bool = True  # a linear model's doubt about an FAQ answer to chit-chat (classifier.py)
    categories: bool = True  # a linear model names the dispatch category no keyword did (classifier.py)


DEFAULT_OPTIONS = Options()


@dataclass(frozen=True)
class Verdict:
    text: str
    normalized: str
    intent: str
    score: float
    decision: Decision
    slots: dict[str, str] = field(default_factory=dict)
    alternatives: tuple[tuple[str, float], ...] = ()
    # The Kaohsiung-only intent the message would have matched had it not named another
    # city (台北市的路燈壞了): the engine lets that service say it is not ours to handle.
    elsewhere: str | None = None

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "intent": self.intent,
            "score": round(self.score, 1),
            "slots": self.slots,
            "alternatives": [{"intent": i, "score": round(s, 1)} for i, s in self.alternatives],
        }


def grams(key: str) -> set[str]:
    """Character unigrams and bigrams: Chinese needs no word segmentation for this."""
    out = set(key)
    out.discard(" ")
    out.update(key[i : i + 2] for i in range(len(key) - 1))
    return out


def _has_word(key: str, word: str) -> bool:
    if word.isascii():  # English words stand alone: "street" holds "tree"
        return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", key) is not None
    return word in key


class Matcher:
    def __init__(
        self,
        intents: Iterable[Intent],
        threshold: float = THRESHOLD,
        margin: float = MARGIN,
        faq_threshold: float = FAQ_THRESHOLD,
        out_of_scope: Iterable[str] | None = None,
        options: Options = DEFAULT_OPTIONS,
    ):
        self.intents: dict[str, Intent] = {}
        self.threshold = threshold
        self.faq_threshold = faq_threshold
        self.margin = margin
        self.options = options
        steps = options.steps
        self._normalize: Callable[[str], str] = lambda t: normalize_pair(t, steps)[1]
        # Cues read the message before template stripping: 想問律師 keeps its 問.
        self._cue_key: Callable[[str], str] = lambda t: normalize_pair(t, steps)[0]
        self._keys: list[str] = []
        self._owner: list[str] = []
        self._weight: list[float] = []  # total IDF of each example's grams
        self._grams: list[set[str]] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._answer_postings: dict[str, list[str]] = defaultdict(list)
        self._answer_weight: dict[str, float] = {}
        self._slot_cues: list[tuple[str, str, float]] = []
        # (intent, per cue: its word groups, its score, its veto words)
        self._cues: list[tuple[str, list[tuple[tuple[list[str], ...], float, list[str]]]]] = []
        self._never: dict[str, tuple[str, ...]] = {}  # intent → its `never` words, normalized
        faq_entries: list[tuple[str, str, str]] = []  # (id, question or phrasing, answer)

        for intent in intents:
            if intent.id in self.intents or intent.id == NONE:
                raise ValueError(f"duplicate intent id {intent.id!r}")
            self.intents[intent.id] = intent
            phrasings = intent.phrasings if options.phrasings else ()
            if intent.kind == "faq" and options.faq_bm25:
                answer = intent.answer or ""
                faq_entries.extend((intent.id, e, answer) for e in (*intent.examples, *phrasings))
                continue
            for example in (*intent.examples, *phrasings):
                self._add(example, intent.id)
            if intent.kind == "faq" and intent.answer and options.answer_weight > 0:
                for g in grams(self._normalize(intent.answer[:400])):
                    self._answer_postings[g].append(intent.id)
            if options.cues:
                self._slot_cues.extend((intent.id, slot, score) for slot, score in intent.slot_cues)
            if intent.cues and options.cues:
                cues = [
                    (
                        tuple([self._cue_key(w) for w in group] for group in cue.groups),
                        cue.score,
                        [self._cue_key(w) for w in (*cue.unless, *intent.never)],
                    )
                    for cue in intent.cues
                ]
                self._cues.append((intent.id, cues))
            if intent.never and options.cues:
                self._never[intent.id] = tuple(self._cue_key(w) for w in intent.never)
        if options.out_of_scope:
            oos = load_out_of_scope() if out_of_scope is None else tuple(out_of_scope)
            for example in oos:
                self._add(example, NONE)
            # Chit-chat competes with FAQ entries on their own scale: 好的 or 現在幾點 finds
            # some FAQ question holding those characters, but an out-of-scope example closer.
            if faq_entries:
                faq_entries.extend((NONE, example, "") for example in oos)
        self._classifier: ServiceClassifier | None = None
        services = [i for i in self.intents.values() if i.kind == "builtin" and i.examples]
        if options.classifier and options.out_of_scope and services:
            self._classifier = ServiceClassifier(services, oos, fold)
        self._categories: CategoryClassifier | None = None
        dispatch = self.intents.get(DISPATCH)
        if options.categories and dispatch is not None and dispatch.examples:
            self._categories = CategoryClassifier(
                dispatch,
                lambda t: without_districts(fold(t)),
                lambda t: extract_category(without_districts(self._normalize(t))),
            )
        self._faq_scope: FaqScope | None = None
        if options.faq_scope and options.out_of_scope and faq_entries:
            self._faq_scope = FaqScope((t for i, t, _ in faq_entries if i != NONE), oos, fold)
        self._faq: FaqIndex | None = None
        if faq_entries:
            self._faq = FaqIndex(
                faq_entries,
                self._normalize,
                answer_weight=options.answer_weight,
                vocabulary=options.vocabulary,
                topic_floor=TOPIC_FLOOR if options.topic_words else 1.0,
                entry_topics=options.entry_topics,
                vectors=wordvectors.load() if options.word_vectors else None,
                question_type_mismatch=QUESTION_TYPE_MISMATCH if options.question_types else 1.0,
            )

        n = max(len(self._keys), 1)
        self._idf = {g: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for g, p in self._postings.items()}
        self._weight = [sum(self._idf[g] for g in gs) or 1.0 for gs in self._grams]
        self._answer_idf = {
            g: math.log(1 + (len(self.intents) - len(p) + 0.5) / (len(p) + 0.5))
            for g, p in self._answer_postings.items()
        }
        # Grams too common to narrow anything are not walked at query time.
        self._max_postings = max(200, n // 10)
        # The candidate search in arrays: a message reaches hundreds of examples.
        self._posting_ids = {g: np.asarray(p, dtype=np.intp) for g, p in self._postings.items()}
        self._inverse_norm = 1.0 / np.sqrt(np.asarray(self._weight or [1.0]))

    def _add(self, example: str, owner: str) -> None:
        key = self._normalize(example)
        if not key:
            return
        n = len(self._keys)
        self._keys.append(key)
        self._owner.append(owner)
        gs = grams(key)
        self._grams.append(gs)
        for g in gs:
            self._postings[g].append(n)

    # --- scoring ----------------------------------------------------------------
    def _candidates(self, key: str, key_grams: set[str]) -> tuple[list[int], float]:
        """The CANDIDATES examples sharing the most IDF mass with the key through its rarer
        grams (relative to the example's own mass), and the key's total IDF mass."""
        total = 0.0
        unseen = math.log(1 + len(self._keys))  # a gram no example has: as rare as it gets
        limit = self._max_postings if self.options.index else len(self._keys) + 1
        ids: list[np.ndarray] = []
        idfs: list[float] = []
        for g in key_grams:
            idf = self._idf.get(g)
            if idf is None:
                total += unseen
                continue
            total += idf
            postings = self._posting_ids[g]
            # Common grams (的, 我要) narrow nothing: the exact overlap is computed later.
            if len(postings) > limit or (len(g) == 1 and len(key) > 3 and len(postings) > 30):
                continue
            ids.append(postings)
            idfs.append(idf)
        if not ids:
            return [], total or 1.0
        shared = np.bincount(
            np.concatenate(ids), weights=np.repeat(idfs, [len(p) for p in ids]), minlength=len(self._keys)
        )
        reached = np.flatnonzero(shared)
        if len(reached) > CANDIDATES:
            rank = shared[reached] * self._inverse_norm[reached]
            reached = reached[np.argpartition(-rank, CANDIDATES - 1)[:CANDIDATES]]
        return reached.tolist(), total or 1.0

    def _similarity(self, key: str, n: int, shared: float, total: float) -> float:
        example = self._keys[n]
        qcov = shared / total
        ecov = shared / self._weight[n]
        overlap = 2 * qcov * ecov / (qcov + ecov) if qcov + ecov else 0.0
        w = self.options.fuzz_weight
        return w * fuzz.ratio(key, example) + (1 - w) * 100.0 * overlap

    def scores(self, key: str, cue_key: str | None = None) -> list[tuple[str, float]]:
        """Every intent with a candidate example or a cue (NONE included), best first."""
        if not key:
            return []
        cue_key = key if cue_key is None else cue_key
        key_grams = grams(key)
        candidates, total = self._candidates(key, key_grams)
        if not self.options.index:
            candidates = range(len(self._keys))
        idf = self._idf
        best: dict[str, float] = {}
        for n in candidates:
            mass = sum(idf[g] for g in key_grams & self._grams[n])
            score = self._similarity(key, n, mass, total)
            owner = self._owner[n]
            if score > best.get(owner, 0.0):
                best[owner] = score
        if self._answer_postings:
            self._add_answers(key, best, total)
        if self._faq is not None:
            found = self._faq.search(key, FAQ_CANDIDATES + 1)
            chit_chat = next((s for i, s in found if i == NONE), 0.0)
            for intent_id, score in found:
                # Entries no closer than an out-of-scope example are not candidates.
                if intent_id != NONE and score > chit_chat and score > best.get(intent_id, 0.0):
                    best[intent_id] = score
        if self._cues:
            for intent_id, cues in self._cues:
                for groups, cue_score, unless in cues:
                    if all(any(w and _has_word(cue_key, w) for w in group) for group in groups) and not any(
                        w and _has_word(cue_key, w) for w in unless
                    ):
                        best[intent_id] = max(best.get(intent_id, 0.0), cue_score)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def _apply_slot_cues(
        self, ranked: list[tuple[str, float]], slots: dict[str, str]
    ) -> list[tuple[str, float]]:
        best = dict(ranked)
        for intent_id, slot, score in self._slot_cues:
            if slot in slots:
                best[intent_id] = max(best.get(intent_id, 0.0), score)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def _add_answers(self, key: str, best: dict[str, float], total: float) -> None:
        """Question-over-answer weighting: the answer text adds a little to an FAQ's score."""
        mass: dict[str, float] = defaultdict(float)
        for g in grams(key):
            for intent_id in self._answer_postings.get(g, ()):
                mass[intent_id] += self._answer_idf[g]
        weight = self.options.answer_weight
        for intent_id, m in mass.items():
            if intent_id in best:
                best[intent_id] = min(100.0, best[intent_id] + weight * 100.0 * m / total)

    def _asks_faq_verbatim(self, key: str, intent_id: str) -> bool:
        """The message is the entry's own question (copied, or a suggestion tapped): the
        entry wins over services whose cues its words happen to meet (市長信箱…案件)."""
        return any(
            fuzz.ratio(key, self._normalize(example)) >= VERBATIM
            for example in self.intents[intent_id].examples
        )

    def _rescue(self, folded: str, slots: dict[str, str]) -> str | None:
        """The service the classifier is sure of for a message about to fall back (not a
        Kaohsiung-only one for a message naming another city and none of our districts)."""
        intent_id = self._classifier.rescue(folded) if self._classifier is not None else None
        return self._ours(intent_id, folded, slots)

    def _agreed(self, folded: str, near: tuple[tuple[str, float], ...], slots: dict[str, str]) -> str | None:
        """The service that both the matcher's best near miss and the service model's pick name,
        for a long message about to fall back: two signals that agree, though neither is sure
        (有無人通好講話 毋是電腦的彼種: its nearest example scores 55, the model's value is below
        zero). Chosen on the read sets: two service rows won, no out-of-scope row lost."""
        if self._classifier is None or not near or self.intents[near[0][0]].kind != "builtin":
            return None
        picked = self._classifier.agrees(folded, near[0][0])
        return self._ours(picked, folded, slots)

    def _claimed(self, key: str, folded: str, faq_id: str, slots: dict[str, str]) -> str | None:
        """The service the classifier picks over the FAQ entry the matcher chose, unless the
        message is the entry's own question."""
        claimed = self._classifier.claims(folded) if self._classifier is not None else None
        # The model first (0.03 ms): most FAQ answers end there, without the fuzzy comparison.
        if claimed is None or self._asks_faq_verbatim(key, faq_id):
            return None
        return self._ours(claimed, folded, slots)

    def _switched(self, folded: str, intent_id: str, slots: dict[str, str]) -> str | None:
        """The service the classifier prefers by far to the one the matcher answers (never
        when a slot points to the matcher's: a case number is a status request)."""
        intent = self.intents[intent_id]
        if (
            self._classifier is None
            or intent.kind != "builtin"
            or any(s in slots for s, _ in intent.slot_cues)
        ):
            return None
        return self._ours(self._classifier.prefers(folded, intent_id), folded, slots)

    def _contested(self, folded: str, intent_id: str, score: float, others: list[tuple[str, float]]) -> bool:
        """A service answered, an FAQ entry within CONTEST_EDGE of it, and a service model that
        does not side with the service."""
        if self._classifier is None or self.intents[intent_id].kind != "builtin":
            return False
        if not any(self.intents[i].kind == "faq" and s >= score - CONTEST_EDGE for i, s in others):
            return False
        return self._classifier.unsure(folded, intent_id)

    def _ours(self, intent_id: str | None, folded: str, slots: dict[str, str]) -> str | None:
        """intent_id, unless it is Kaohsiung-only and the message is about another city, or the
        message holds one of the intent's `never` words (the model reads 路由器的燈一直閃紅燈 as a
        report; the cues know better)."""
        if intent_id is None:
            return None
        if self._ruled_out(intent_id, self._cue_key(folded), folded):
            return None
        if self.intents[intent_id].kaohsiung_only and names_elsewhere(folded) and not slots.get("district"):
            return None
        return intent_id

    def _ruled_out(self, intent_id: str, cue_key: str, folded: str) -> bool:
        """The message holds one of the intent's `never` words, or the intent is the one a case
        number points to and the message's number is another system's (包裹單號 820123456789)."""
        if (never := self._never.get(intent_id)) and any(_has_word(cue_key, w) for w in never):
            return True
        cued_by_case = any(slot == "case_number" for slot, _ in self.intents[intent_id].slot_cues)
        return cued_by_case and names_another_number(folded)

    def _doubted(self, key: str, folded: str, intent_id: str, score: float, slots: dict[str, str]) -> bool:
        """A linear model is sure the message is out of scope although the matcher answers:
        cue words without a request (玩GTA的時候路上好多坑洞) on a long message, unless a slot
        points to the service; an FAQ entry sharing words with chit-chat (螢火蟲為什麼會發光),
        unless it scores FAQ_DOUBT_CEILING or the message is the entry's own question."""
        intent = self.intents[intent_id]
        if intent.kind == "faq":
            return (
                self._faq_scope is not None
                and score < FAQ_DOUBT_CEILING
                and self._faq_scope.doubts(folded)
                and not self._asks_faq_verbatim(key, intent_id)
            )
        if self._classifier is None or any(slot in slots for slot, _ in intent.slot_cues):
            return False
        return self._classifier.doubts(folded, intent_id)

    def _entry_instead(
        self, key: str, folded: str, intent_id: str, score: float, others, slots: dict[str, str]
    ) -> tuple[str, float] | None:
        """For a doubted service, the FAQ entry among the runners-up that answers on its own
        (past the threshold, within CONTEST_EDGE, not doubted itself): 那條計畫道路一直沒開 政府
        怎麼決定要不要開 meets the report's cue words (道路 + 沒開) but asks the FAQ's question."""
        if self.intents[intent_id].kind != "builtin":
            return None
        entry = next(((i, s) for i, s in others if self.intents[i].kind == "faq"), None)
        if entry is None or entry[1] < max(self.threshold, score - CONTEST_EDGE):
            return None
        return None if self._doubted(key, folded, entry[0], entry[1], slots) else entry

    def _with_category(self, intent_id: str, folded: str, slots: dict[str, str]) -> dict[str, str]:
        """A report whose words name no category gets the one the category model is sure of."""
        if intent_id != DISPATCH or "category" in slots or self._categories is None:
            return slots
        category = self._categories.category(without_districts(folded))
        return {**slots, "category": category} if category else slots

    def match(self, text: str) -> Verdict:
        key = self._normalize(text)
        folded = fold(text)
        slots = extract_slots(folded, key)
        ranked = self.scores(key, self._cue_key(text) if self._cues else None)
        if self._slot_cues and slots:
            ranked = self._apply_slot_cues(ranked, slots)
        # `never` words and another system's number rule an intent out, however close an
        # example is (候選人的提案政見 is near a co-sign's).
        cue_key = self._cue_key(folded)
        ranked = [(i, s) for i, s in ranked if i == NONE or not self._ruled_out(i, cue_key, folded)]
        elsewhere, elsewhere_score = None, 0.0
        # A Kaohsiung district named too (在鳳山 但戶籍在屏東) keeps the request ours.
        if names_elsewhere(folded) and not slots.get("district"):
            elsewhere, elsewhere_score = next(
                (
                    (i, s)
                    for i, s in ranked
                    if i != NONE and self.intents[i].kaohsiung_only and s >= self.threshold
                ),
                (None, 0.0),
            )
            ranked = [(i, s) for i, s in ranked if i == NONE or not self.intents[i].kaohsiung_only]
        none_score = 0.0
        real: list[tuple[str, float]] = []
        # FAQ scores onto the scale of the rest: an entry at FAQ_THRESHOLD scores THRESHOLD,
        # one at 100 scores 100 (piecewise linear, so a low FAQ threshold does not inflate
        # every FAQ score past the services' cues).
        t, ft = self.threshold, self.faq_threshold
        # A long message is specific: chit-chat is short, and a resident who spells out
        # the situation in twenty characters covers less of an FAQ question than one who
        # types its three key words. The FAQ threshold relaxes with the message's length.
        extra = max(0, len(key.replace(" ", "")) - LONG_MESSAGE)
        ft = max(ft - LONG_STEP * extra, ft * LONG_FLOOR)

        def faq_scale(score: float) -> float:
            if score <= ft:
                return score * t / ft
            return min(100.0, t + (score - ft) * (100.0 - t) / (100.0 - ft))

        for intent_id, score in ranked:
            if intent_id == NONE:
                none_score = max(none_score, score)
            elif self.intents[intent_id].kind == "faq" and self._faq is not None:
                real.append((intent_id, faq_scale(score)))
            else:
                real.append((intent_id, score))
        real.sort(key=lambda kv: -kv[1])
        promoted = False
        if (
            self.options.builtin_priority
            and real
            and self.intents[real[0][0]].kind == "faq"
            and not self._asks_faq_verbatim(key, real[0][0])
        ):
            # Services first: a built-in intent close behind an FAQ entry takes its place.
            for i, (intent_id, score) in enumerate(real[1:], start=1):
                if self.intents[intent_id].kind == "builtin":
                    if score >= real[0][1] - BUILTIN_EDGE and score >= self.threshold:
                        real.insert(0, real.pop(i))
                        promoted = True
                    break
        # A Kaohsiung-only service asked for about another city (台中的免費法律諮詢) answers
        # with whose it is: ahead of any FAQ entry on ours (unless its own question was copied
        # or tapped) and of any service scoring less.
        another_city = elsewhere is not None and (
            not real
            or elsewhere_score >= real[0][1]
            or (self.intents[real[0][0]].kind == "faq" and not self._asks_faq_verbatim(key, real[0][0]))
        )
        if another_city or not real or real[0][1] < self.threshold or none_score >= real[0][1]:
            top = real[0][1] if real else 0.0
            # Only near misses are worth offering as "did you mean": chit-chat (the
            # out-of-scope examples won) needs a score above the threshold.
            floor = self.threshold if none_score >= top else SUGGEST
            near = tuple((i, s) for i, s in real[:3] if s >= floor)
            rescued = None
            if elsewhere is None:
                rescued = self._rescue(folded, slots) or self._agreed(folded, near, slots)
            if rescued is not None:
                others = tuple((i, s) for i, s in near if i != rescued)
                slots = self._with_category(rescued, folded, slots)
                return Verdict(text, key, rescued, self.threshold, "answer", slots, others)
            return Verdict(text, key, "fallback", top, "fallback", slots, near, elsewhere)
        intent, score = real[0]
        # An FAQ answer the service model claims is asked about before the FAQ scope model may
        # doubt it: 號志一直停在紅燈 等了五分鐘都沒變 is a report, not chit-chat.
        claimed = self._claimed(key, folded, intent, slots) if self.intents[intent].kind == "faq" else None
        if claimed is None and self._doubted(key, folded, intent, score, slots):
            if (entry := self._entry_instead(key, folded, intent, score, real[1:3], slots)) is not None:
                # Asked, the entry first and the doubted service a tap away.
                others = ((intent, score), *((i, s) for i, s in real[1:4] if i != entry[0]))
                return Verdict(text, key, entry[0], entry[1], "clarify", slots, others[:3])
            # Offered, not answered: a resident who did mean it taps it (stage one of the fallback).
            near = ((intent, score), *((i, s) for i, s in real[1:3] if s >= SUGGEST))
            return Verdict(text, key, "fallback", score, "fallback", slots, near)
        if switched := self._switched(folded, intent, slots):
            # The matcher and the model each pick a service: ask, the model's first.
            slots = self._with_category(switched, folded, slots)
            others = tuple((i, s) for i, s in real[:3] if i != switched)
            return Verdict(text, key, switched, score, "clarify", slots, others)
        if claimed is not None:
            # Two signals disagree: ask, with the service first and the entry a tap away
            # (資遣通報要怎麼取消 is the FAQ's, though it reads like a report's status).
            slots = self._with_category(claimed, folded, slots)
            return Verdict(text, key, claimed, score, "clarify", slots, ((intent, score), *real[1:3]))
        alternatives = tuple(real[1:4])
        decision: Decision = "answer"
        if alternatives and not promoted and score - alternatives[0][1] < self.margin:
            decision = "clarify"
        elif self._contested(folded, intent, score, real[1:4]):
            # Cue words named the service, but the model does not side with it and an FAQ entry
            # answers close behind: ask, the service first, the entry a tap away.
            faq = next(a for a in real[1:4] if self.intents[a[0]].kind == "faq")
            alternatives = (faq, *(a for a in real[1:4] if a != faq))
            decision = "clarify"
        slots = self._with_category(intent, folded, slots)
        return Verdict(text, key, intent, score, decision, slots, alternatives)
