"""A linear classifier over the services' examples: the matcher's second opinion.

The matcher scores a message by its nearest examples and by cue words, which is precise but
brittle for a long message that describes a situation in words no single example holds
(1999那邊說會派人來 但到現在都沒消息 可以幫我看一下狀態嗎: its closest example scores 41).
A linear model over character 1-3-grams sums the evidence of every example instead. It only
speaks on messages of RESCUE_LENGTH characters or more: when the matcher would fall back, a
service it picks with a decision value of at least RESCUE_MIN is answered; when the matcher
answers a service the model puts well behind out of scope (DOUBT_MARGIN), the service is only
offered as a "did you mean" button. Trained on the same examples (built-in and staff-taught) against
the out-of-scope examples as their own class, so near misses pull the other way.

On the 396 session-4 service examples in 4-fold cross-validation (three quarters added to the
examples, one held out; the same for the 1,741 session-4 out-of-scope examples) the rescue took
services from 63.4% to 74.2% while out-of-scope rejection moved from 87.2% to 87.0%; the doubt
then took out of scope to 89.3% and services to 73.5%.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from .catalog import Intent

NONE = "none"
# The least decision value that answers a service the matcher would have fallen back on.
RESCUE_MIN = 0.2
# Only messages this long (characters, spaces aside): a short one has examples close enough,
# and a short near miss (推薦律師影集) is all service words to a bag of n-grams.
RESCUE_LENGTH = 8
# A service the matcher answers on such a message is offered instead when the model puts out
# of scope this far ahead of it: cue words without a request (公司的客服系統要怎麼設定轉接真人).
DOUBT_MARGIN = 0.6


class ServiceClassifier:
    def __init__(self, intents: Iterable[Intent], out_of_scope: Iterable[str], fold):
        """intents: the built-in services (FAQ entries are the BM25 index's job); fold: the
        matcher's text folding, applied to examples and messages alike."""
        texts: list[str] = []
        labels: list[str] = []
        for intent in intents:
            for example in intent.examples:
                texts.append(fold(example))
                labels.append(intent.id)
        for example in out_of_scope:
            texts.append(fold(example))
            labels.append(NONE)
        self._fold = fold
        self._vectorizer = vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), sublinear_tf=True
        )
        self._model = model = LinearSVC(C=1.0).fit(vectorizer.fit_transform(texts), labels)
        self._classes = [str(c) for c in model.classes_]
        # What transform() and decision_function() compute, kept as plain arrays: for one
        # short message sklearn's per-call overhead (about 1 ms) is most of the cost.
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_
        self._coef = model.coef_  # (classes, grams); one row when there are two classes
        self._intercept = model.intercept_

    def decision(self, folded: str) -> np.ndarray:
        """LinearSVC's decision values for a folded text, as decision_function() gives them
        for its TF-IDF vector (sublinear tf, idf, L2 norm)."""
        columns: list[int] = []
        weights: list[float] = []
        for gram, count in Counter(self._analyze(folded)).items():
            j = self._vocabulary.get(gram)
            if j is not None:
                columns.append(j)
                weights.append((1.0 + math.log(count)) * self._idf[j])
        if not columns:
            return self._intercept.copy()
        w = np.asarray(weights)
        return self._coef[:, columns] @ (w / np.linalg.norm(w)) + self._intercept

    def doubts(self, folded: str, intent_id: str) -> bool:
        """Out of scope leads the service by more than DOUBT_MARGIN (never with one service:
        a single decision value has no margin to read)."""
        if len(self._classes) < 3 or intent_id not in self._classes or not folded:
            return False
        values = self.decision(folded)
        return (
            float(values[self._classes.index(NONE)] - values[self._classes.index(intent_id)]) > DOUBT_MARGIN
        )

    def best(self, text: str) -> tuple[str, float] | None:
        """The service the model picks for the message and its decision value; None when it
        picks out of scope or nothing can be said."""
        folded = self._fold(text)
        if not folded:
            return None
        values = self.decision(folded)
        if len(self._classes) == 2:  # one service: a single value, positive for the second class
            values = np.array([-values[0], values[0]])
        j = int(np.argmax(values))
        return None if self._classes[j] == NONE else (self._classes[j], float(values[j]))
