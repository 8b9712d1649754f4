"""FAQ retrieval: BM25 over character n-grams of the normalized question (answer weighted low).

Residents' questions are short and share few characters in order with the
official question (停車費怎麼繳 vs 路邊停車費如何繳納?), so an edit ratio alone ranks
poorly. BM25 over character unigrams and bigrams needs no word segmentation; the
per-(gram, entry) weights are query independent and precomputed into numpy arrays,
so a query costs one vector add per gram of the query (cost grows with the
postings of its grams, not with the catalog). Colloquial words are expanded with
the official ones (vocabulary.yaml: 借書證 → 借閱證) before the lookup. The top
entries are re-ranked with rapidfuzz's partial ratio (a short query inside a long
question) and with the word-vector cosine of query and entry (wordvectors.py: words
that share no characters, 小孩 / 兒童), and given a 0-100 score on the matcher's scale.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml
from rapidfuzz import fuzz

from .normalize import apply_synonyms, fold
from .wordvectors import WordVectors

K1 = 1.2
B = 0.5
# A single character says less than two in a row (bigrams carry the words).
UNIGRAM_WEIGHT = 0.5
# How many BM25 hits are re-ranked with rapidfuzz and word vectors.
RERANK = 30
# Share of rapidfuzz in the final score (the rest is BM25 coverage).
FUZZ_SHARE = 0.3
# Share of the entry's own coverage (how much of the question the message explains):
# among near-identical questions it prefers the one without extra matter.
DOC_SHARE = 0.1
# How much of an answer is indexed (its opening says what it is about).
ANSWER_CHARS = 80
# Weight of the grams of official words added by the vocabulary.
EXPANSION_WEIGHT = 1.0
# A message carrying less than this much information (IDF mass of its content
# grams) has its FAQ scores scaled down: 好的 or 算了 is "covered" by many questions.
INFO_FULL = 30.0
CONFIDENCE_EXP = 1.0
# Coverage is raised to this power (< 1 lifts long messages that say more than the question).
COVERAGE_EXP = 0.75
# A clear lead over the runner-up adds this share of the lead to the best entry's score.
LEAD_WEIGHT = 1.0
# Share of the word-vector cosine in the final score (wordvectors.py): it bridges words
# that share no characters (借書證 / 借閱證). The answer's opening counts too, at
# ANSWER_VECTOR_SHARE of the question's weight: it names what the question only implies.
VECTOR_SHARE = 0.25
# Cosines at or below this are what unrelated texts reach; the rest of the range maps to 0-1.
VECTOR_FLOOR = 0.2
ANSWER_VECTOR_SHARE = 0.6
ANSWER_VECTOR_CHARS = 200
# Grams found in more than this share of entries narrow nothing and are skipped.
COMMON = 0.25
# Topic words: the query's bigrams (and Latin words) weighted by IDF**TOPIC_POWER (the rarest words say
# what is asked: 冰箱 in 冰箱壞了找誰修, 時薪 in 時薪的人休息日加班費怎麼算). A candidate's
# score is scaled by TOPIC_FLOOR + (1 - TOPIC_FLOOR) * the share of that mass its entry's
# texts hold: an entry that matches the generic words but misses the topic word drops.
TOPIC_POWER = 1.0  # plain IDF: squaring let one rare typo veto an entry
TOPIC_FLOOR = 0.5


@lru_cache(maxsize=1)
def vocabulary() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(colloquial, official words) pairs from vocabulary.yaml, longest colloquial first."""
    path = resources.files("intents") / "vocabulary.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs: dict[str, list[str]] = defaultdict(list)
    for official, variants in (doc.get("vocabulary") or {}).items():
        for variant in variants:
            # Official words as the index holds them (synonyms.yaml applied to questions too).
            pairs[fold(str(variant))].append(apply_synonyms(fold(str(official))))
    return tuple(sorted(((k, tuple(v)) for k, v in pairs.items() if k), key=lambda p: -len(p[0])))


# A long colloquial phrase also counts with a few characters slipped in (報稅要插的那張卡 for
# 報稅插的卡): its characters in order within GAP_SLACK characters more than its length.
GAPPED_MIN = 5
GAP_SLACK = 3


def _in_order_nearby(key: str, phrase: str) -> bool:
    """phrase's characters in order within a window of len(phrase) + GAP_SLACK of key."""
    start = key.find(phrase[0])
    while start >= 0:
        window = iter(key[start : start + len(phrase) + GAP_SLACK])
        if all(char in window for char in phrase):  # `in` consumes the iterator: in order
            return True
        start = key.find(phrase[0], start + 1)
    return False


@lru_cache(maxsize=1)
def _by_prefix() -> tuple[
    dict[str, tuple[tuple[int, str], ...]], dict[str, tuple[tuple[int, str, frozenset[str]], ...]]
]:
    """The vocabulary indexed for one pass over a message instead of a search for each of
    thousands of words: first two characters (one for one-character words) → (position in
    vocabulary(), colloquial word); and first character → the long non-ASCII words that may
    match with characters slipped in, with their character sets."""
    exact: dict[str, list[tuple[int, str]]] = defaultdict(list)
    gapped: dict[str, list[tuple[int, str, frozenset[str]]]] = defaultdict(list)
    for n, (colloquial, _) in enumerate(vocabulary()):
        exact[colloquial[:2]].append((n, colloquial))
        if len(colloquial) >= GAPPED_MIN and not colloquial.isascii():
            gapped[colloquial[0]].append((n, colloquial, frozenset(colloquial)))
    return {k: tuple(v) for k, v in exact.items()}, {k: tuple(v) for k, v in gapped.items()}


def expansions(key: str) -> list[tuple[str, tuple[str, ...]]]:
    """The (colloquial, official words) pairs whose colloquial word the key holds (long
    phrases also with a few characters slipped in): exact ones in vocabulary() order, then those."""
    pairs = vocabulary()
    exact, gapped = _by_prefix()
    hits: set[int] = set()
    for i in range(len(key)):
        for prefix in (key[i : i + 2], key[i]):
            for n, colloquial in exact.get(prefix, ()):
                if key.startswith(colloquial, i):
                    hits.add(n)
    found = sorted(hits)
    chars = set(key)
    for char in dict.fromkeys(key):  # in order of appearance: stable across runs
        for n, colloquial, needed in gapped.get(char, ()):
            # The character-set test first: most phrases fail it, and it is cheap.
            if n not in hits and chars.issuperset(needed) and _in_order_nearby(key, colloquial):
                found.append(n)
                hits.add(n)
    return [pairs[n] for n in found]


def expand(key: str) -> str:
    """The official words for the colloquial ones the key holds (space separated, so no
    bigram spans two words)."""
    return " ".join(" ".join(official) for _, official in expansions(key))


# Question words and function words: residents and the city phrase them differently
# (怎麼 vs 如何, 可以嗎 vs 是否), and they say nothing about which entry is meant. They
# become gaps, so no bigram spans them.
QUESTION_WORDS = (
    "為什麼 有沒有 可不可以 能不能 要不要 是不是 應如何 該如何 怎麼辦 怎麼樣 如何 怎麼 怎樣 為何 什麼 甚麼 哪些 "
    "哪裡 哪裏 那裡 那些 那個 可否 能否 是否 有無 有何 何謂 何時 何處 多久 請問 應該 需要 可以 還能 要 應 該 "
    "辦理 相關 事宜 問題 規定 之 的 了 及 與 或 和 跟 我 你 您 們 嗎 呢 有 是 在 給 會 被 去 到 就 都 也 還 讓 把"
).split()
_QUESTION_WORDS = re.compile(
    "|".join(re.escape(w) for w in sorted(set(QUESTION_WORDS), key=len, reverse=True))
)


def content(key: str) -> str:
    """The key with question and function words turned into gaps."""
    return _QUESTION_WORDS.sub(" ", key)


# What kind of answer a question asks for. Question words are stripped before matching
# (content()), yet 國土計畫哪時候上路 asks for a date and 何謂國土計畫 for a definition: an
# entry that asks for another kind than the message does scores QUESTION_TYPE_MISMATCH times
# less. Only kinds that words mark reliably; 如何 and 可以嗎 go with almost any answer.
QUESTION_TYPES: dict[str, tuple[str, ...]] = {
    kind: tuple(words.split())
    for kind, words in {
        "when": "何時 什麼時候 甚麼時候 哪時 幾時 幾點 哪一天 哪天 日期 時段 時間 期限 多久 哪一年 幾年",
        "what": "何謂 什麼是 甚麼是 是什麼 是甚麼 定義 是指 意思 什麼叫",
        "cost": "多少錢 費用 規費 收費 價格 票價 幾元 多少元 價錢",
        "where": "哪裡 哪裏 何處 在哪 去哪 哪個單位 何單位 哪個機關 何機關 地點 地址 哪邊 向何",
        "why": "為什麼 為何 原因",
    }.items()
}
QUESTION_TYPE_MISMATCH = 0.9


def question_types(key: str) -> frozenset[str]:
    """The kinds of answer the key asks for (see QUESTION_TYPES)."""
    return frozenset(kind for kind, words in QUESTION_TYPES.items() if any(w in key for w in words))


_RUNS = re.compile(r"[a-z0-9]+|[^a-z0-9]+")


def weighted_grams(key: str) -> Counter[str]:
    """Character unigrams and bigrams of each space-separated chunk, with their counts.
    Latin words and numbers count as whole tokens: the bigrams of "house" would find
    "warehouse", and those of a phone number any other number."""
    out: Counter[str] = Counter()
    for chunk in key.split():
        for run in _RUNS.findall(chunk):
            if run[0].isascii() and run[0].isalnum():
                out[run] += 1
                continue
            out.update(run)
            out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _gram_weight(g: str) -> float:
    return UNIGRAM_WEIGHT if len(g) == 1 else 1.0


class _Postings:
    """gram → (entry ids, BM25 weights) as slices of two flat arrays."""

    __slots__ = ("vocab", "docs", "weights", "offsets", "idf", "self_scores")

    def __init__(self, vocab, docs, weights, offsets, idf):
        self.vocab: dict[str, int] = vocab
        self.docs: np.ndarray = docs
        self.weights: np.ndarray = weights
        self.offsets: np.ndarray = offsets
        self.idf: np.ndarray = idf
        self.self_scores: np.ndarray = np.zeros(0, np.float32)

    def get(self, g: str) -> tuple[np.ndarray, np.ndarray, float] | None:
        i = self.vocab.get(g)
        if i is None:
            return None
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.docs[a:b], self.weights[a:b], float(self.idf[i])


_EMPTY = _Postings({}, np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(1, np.int64), np.zeros(0))


class FaqIndex:
    def __init__(
        self,
        entries: Sequence[tuple[str, str, str]],
        normalize: Callable[[str], str],
        answer_weight: float = 0.1,
        vocabulary: bool = True,
        fuzz_share: float = FUZZ_SHARE,
        doc_share: float = DOC_SHARE,
        topic_floor: float = TOPIC_FLOOR,
        entry_topics: bool = True,
        vectors: WordVectors | None = None,
        vector_share: float = VECTOR_SHARE,
        question_type_mismatch: float = QUESTION_TYPE_MISMATCH,
    ):
        """entries: (intent id, question, answer). Phrasings (shipped, or taught by staff)
        go in as more questions of the same id.
        vectors: word vectors for the semantic part of the score (None: characters only).
        question_type_mismatch: the factor for an entry asking for another kind of answer
        (1.0: question types are ignored).
        entry_topics: topic words count when any text of the entry holds them (False: only
        the text being scored)."""
        self.ids: list[str] = []
        self.questions: list[str] = []
        self._bigrams: list[frozenset[str]] = []  # each question's content bigrams
        self._types: list[frozenset[str]] = []  # each question's question_types()
        self._normalize = normalize
        self.answer_weight = answer_weight
        self.use_vocabulary = vocabulary
        self.fuzz_share = fuzz_share
        self.doc_share = doc_share
        self.topic_floor = topic_floor
        self.question_type_mismatch = question_type_mismatch
        docs: list[Counter[str]] = []
        answers: list[Counter[str]] = []
        answer_texts: list[str] = []
        answer_grams: dict[str, Counter[str]] = {}
        for intent_id, question, answer in entries:
            key = normalize(question)
            if not key:
                continue
            self.ids.append(intent_id)
            self.questions.append(key)
            self._types.append(question_types(key))
            doc = weighted_grams(content(key))
            docs.append(doc)
            self._bigrams.append(frozenset(g for g in doc if len(g) >= 2))  # bigrams and Latin words
            answer_texts.append(answer)
            # An entry's phrasings share its answer: its grams are counted once (a shared
            # Counter, only read). Answers are official text: folding is enough.
            if answer not in answer_grams:
                answer_grams[answer] = (
                    weighted_grams(content(fold(answer[:ANSWER_CHARS])))
                    if answer and answer_weight > 0
                    else Counter()
                )
            answers.append(answer_grams[answer])
        self.n = len(self.ids)
        # An entry's texts (its question, phrasings, staff examples) each say part of what it
        # is about: 至德堂 in one phrasing, 演出 in another. Topic words are looked for in all of
        # them together, so a sibling entry whose one phrasing shares the generic words
        # (明年下半年…幾月…申請) does not beat it. The out-of-scope examples pool theirs too,
        # as one class (with them per text, 明天放假嗎 and 我想養貓 got FAQ answers).
        self._topic_bigrams, self._topic_text = self._bigrams, self.questions
        self._entry_topics = entry_topics
        if entry_topics:
            bigrams: dict[str, set[str]] = defaultdict(set)
            texts: dict[str, list[str]] = defaultdict(list)
            for intent_id, grams_, question in zip(self.ids, self._bigrams, self.questions, strict=True):
                bigrams[intent_id] |= grams_
                texts[intent_id].append(question)
            whole = {i: (frozenset(bigrams[i]), " ".join(texts[i])) for i in bigrams}
            self._topic_bigrams = [whole[i][0] for i in self.ids]
            self._topic_text = [whole[i][1] for i in self.ids]
        self._postings = self._build(docs)
        self._answer_postings = self._build(answers) if answer_weight > 0 else _EMPTY
        self._unseen = math.log(1 + (self.n + 0.5) / 0.5) if self.n else 0.0
        # What each entry scores against its own question (gram weights as at query time).
        self._self = self._postings.self_scores
        self._vectors = vectors if vector_share > 0 else None
        self.vector_share = vector_share if self._vectors is not None else 0.0
        if self._vectors is not None:
            question_vecs = self._vectors.embed_many([content(q) for q in self.questions])
            distinct = list(dict.fromkeys(answer_texts))
            row = {a: n for n, a in enumerate(distinct)}
            openings = [content(fold(a[:ANSWER_VECTOR_CHARS])) if a else "" for a in distinct]
            answer_vecs = self._vectors.embed_many(openings)[[row[a] for a in answer_texts]]
            # One matrix: a query's cosine with both is one product.
            self._semantic = (question_vecs + ANSWER_VECTOR_SHARE * answer_vecs) / (1 + ANSWER_VECTOR_SHARE)

    def _build(self, docs: list[Counter[str]]) -> _Postings:
        """BM25 term weights of every (gram, entry) pair, stored by gram (CSR layout:
        building thousands of small arrays would dominate the build time)."""
        lengths = np.fromiter((sum(d.values()) for d in docs), dtype=np.float32, count=len(docs))
        avg = float(lengths.mean()) if len(docs) and lengths.sum() else 1.0
        vocab: dict[str, int] = {}
        gram_ids: list[int] = []
        doc_ids: list[int] = []
        tfs: list[int] = []
        for n, doc in enumerate(docs):
            for g, tf in doc.items():
                gram_ids.append(vocab.setdefault(g, len(vocab)))
                doc_ids.append(n)
                tfs.append(tf)
        g_arr = np.asarray(gram_ids, dtype=np.int32)
        d_arr = np.asarray(doc_ids, dtype=np.int32)
        tf = np.asarray(tfs, dtype=np.float32)
        norm = K1 * (1 - B + B * lengths[d_arr] / avg) if len(d_arr) else tf
        df = np.bincount(g_arr, minlength=len(vocab)).astype(np.float32)
        idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        weight = tf * (K1 + 1) / (tf + norm) * idf[g_arr] if len(d_arr) else tf
        order = np.argsort(g_arr, kind="stable")
        offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=offsets[1:])
        postings = _Postings(vocab, d_arr[order], weight[order].astype(np.float32), offsets, idf)
        gram_weight = np.fromiter((_gram_weight(g) for g in vocab), dtype=np.float32, count=len(vocab))
        postings.self_scores = np.bincount(
            d_arr, weights=weight * gram_weight[g_arr] if len(d_arr) else None, minlength=len(docs)
        ).astype(np.float32)
        return postings

    def _idf(self, g: str) -> float:
        posting = self._postings.get(g)
        return self._unseen if posting is None else posting[2]

    def _topics(
        self, query: dict[str, float], pairs: list[tuple[str, tuple[str, ...]]]
    ) -> list[tuple[float, frozenset[str], tuple[str, ...]]]:
        """The query's topic terms as (weight, bigrams any of which covers it, official
        words any of which covers it). A colloquial word the vocabulary knows is one term,
        covered by its official words (老公打我 is about 家暴); other bigrams stand alone."""
        terms: list[tuple[float, frozenset[str], tuple[str, ...]]] = []
        inside: set[str] = set()
        for colloquial, official in pairs:
            own = {colloquial[i : i + 2] for i in range(len(colloquial) - 1)}
            inside |= own
            grams_ = own | {w[i : i + 2] for w in official for i in range(len(w) - 1)}
            idf = max((self._idf(g) for g in grams_), default=0.0)
            terms.append((idf**TOPIC_POWER, frozenset(own), (colloquial, *official)))
        for g in query:
            if len(g) >= 2 and g not in inside:  # bigrams and Latin words
                terms.append((self._idf(g) ** TOPIC_POWER, frozenset((g,)), ()))
        return terms

    def _topic_share(self, i: int, terms: list[tuple[float, frozenset[str], tuple[str, ...]]]) -> float:
        """Share of the query's topic mass that text i (with entry_topics: its entry's texts
        together) holds."""
        if not terms:
            return 1.0
        bigrams, question = self._topic_bigrams[i], self._topic_text[i]
        total = held = 0.0
        for weight, grams_, words in terms:
            total += weight
            if not grams_.isdisjoint(bigrams) or any(w in question for w in words):
                held += weight
        return held / total if total else 1.0

    def search(self, key: str, k: int = 5) -> list[tuple[str, float]]:
        """The best FAQ entries for a normalized key, with a 0-100 score, best first."""
        if not self.n or not key:
            return []
        words = content(key)
        query: dict[str, float] = {g: float(min(c, 2)) for g, c in weighted_grams(words).items()}
        pairs = expansions(key) if self.use_vocabulary else []
        topics = self._topics(query, pairs)  # what was written, before the expansion
        if pairs:
            # Official words stand in for the resident's, so they count for less than
            # what was written (紅綠燈 must not weigh double through 號誌).
            for g, c in weighted_grams(content(" ".join(" ".join(o) for _, o in pairs))).items():
                if g not in query:
                    query[g] = EXPANSION_WEIGHT * min(c, 2)
        ideal = 0.0
        limit = max(50, int(self.n * COMMON))
        # Every gram's postings summed at once (one bincount instead of an update per gram).
        ids: list[np.ndarray] = []
        gains: list[np.ndarray] = []
        for g, count in query.items():
            w = _gram_weight(g) * count
            posting = self._postings.get(g)
            if posting is None:
                ideal += w * self._unseen
                continue
            doc_ids, weights, idf = posting
            ideal += w * idf * (K1 + 1) / 2  # what a typical entry holding it earns
            if len(doc_ids) > limit:
                continue
            ids.append(doc_ids)
            gains.append(w * weights)
            if self.answer_weight > 0 and (ans := self._answer_postings.get(g)) is not None:
                a_ids, a_weights, _ = ans
                if len(a_ids) <= limit:
                    ids.append(a_ids)
                    gains.append(self.answer_weight * w * a_weights)
        if ideal <= 0 or not ids:
            return []
        scores = np.bincount(np.concatenate(ids), weights=np.concatenate(gains), minlength=self.n)
        # Only texts some gram reached can rank: selecting among them (about an eighth of the
        # texts) takes a sixth less time than over the whole catalog.
        reached = np.flatnonzero(scores)
        top = min(RERANK, len(reached))
        if top == 0:
            return []
        best = reached[np.argpartition(-scores[reached], top - 1)[:top]] if len(reached) > top else reached
        plain = key.replace(" ", "")
        confidence = min(1.0, ideal / INFO_FULL) ** CONFIDENCE_EXP
        semantic = None
        if self._vectors is not None:
            semantic = self._semantic[best] @ self._vectors.embed(words)
        asked = question_types(key) if self.question_type_mismatch < 1 else frozenset()
        ranked = []
        shares: dict[object, float] = {}
        for n, i in enumerate(best):
            s = float(scores[i])
            if s <= 0:
                continue
            coverage = (1 - self.doc_share) * min(1.0, s / ideal) ** COVERAGE_EXP + self.doc_share * min(
                1.0, s / (float(self._self[i]) or 1.0)
            )
            fz = fuzz.partial_ratio(plain, self.questions[i]) / 100.0 if len(plain) > 1 else 0.0
            # Per entry, not per text, with entry_topics: the out-of-scope examples are one
            # entry of thousands of texts, and their pooled text is long to search.
            share_key = self.ids[i] if self._entry_topics else i
            if (share := shares.get(share_key)) is None:
                share = shares[share_key] = self._topic_share(i, topics)
            topic = self.topic_floor + (1 - self.topic_floor) * share
            score = confidence * 100.0 * ((1 - self.fuzz_share) * coverage + self.fuzz_share * fz) * topic
            if semantic is not None:
                cosine = max(0.0, (float(semantic[n]) - VECTOR_FLOOR) / (1 - VECTOR_FLOOR))
                score = (1 - self.vector_share) * score + self.vector_share * confidence * 100.0 * cosine
            if asked and self._types[i] and asked.isdisjoint(self._types[i]):
                score *= self.question_type_mismatch
            ranked.append((self.ids[i], score))
        ranked.sort(key=lambda kv: -kv[1])
        if LEAD_WEIGHT and len(ranked) > 1:
            lead = ranked[0][1] - next((s for i, s in ranked if i != ranked[0][0]), 0.0)
            ranked[0] = (ranked[0][0], min(100.0, ranked[0][1] + LEAD_WEIGHT * lead))
        # Several questions (staff examples) may name the same entry: keep its best.
        seen: set[str] = set()
        out = []
        for intent_id, score in ranked:
            if intent_id not in seen:
                seen.add(intent_id)
                out.append((intent_id, score))
        return out[:k]
