"""The baseline every change is measured against (`citizenbot eval --baseline`).

1. Intents: TF-IDF over character 1-3-grams of the folded text and a linear SVM,
   trained on what the matcher learns from (built-in examples, FAQ questions and
   the out-of-scope examples as the class `fallback`); below a decision threshold
   (calibrated on the tune split) it falls back.
2. FAQ retrieval: the plain TF-IDF character-bigram nearest-question search.

Both answer through `match(text) -> Verdict` so the same evaluation runs on them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from .catalog import Intent, load_out_of_scope
from .matcher import Verdict
from .normalize import fold
from .slots import extract_slots

FALLBACK = "fallback"


class LinearBaseline:
    """TF-IDF char 1-3-grams + LinearSVC; `threshold` on the best decision value."""

    def __init__(self, intents: Iterable[Intent], threshold: float = -0.3):
        self.intents = {i.id: i for i in intents}
        texts: list[str] = []
        labels: list[str] = []
        for intent in self.intents.values():
            for example in intent.examples:
                texts.append(fold(example))
                labels.append(intent.id)
        for example in load_out_of_scope():
            texts.append(fold(example))
            labels.append(FALLBACK)
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        x = self.vectorizer.fit_transform(texts)
        self.model = LinearSVC(C=1.0)
        with warnings.catch_warnings():
            # One example per FAQ class: sklearn warns the labels look like a regression target.
            warnings.simplefilter("ignore", UserWarning)
            self.model.fit(x, labels)
        self.classes = list(self.model.classes_)
        self.threshold = threshold

    def match(self, text: str) -> Verdict:
        folded = fold(text)
        slots = extract_slots(folded)
        if not folded:
            return Verdict(text, folded, FALLBACK, 0.0, "fallback", slots)
        scores = self.model.decision_function(self.vectorizer.transform([folded]))[0]
        order = np.argsort(-scores)[:4]
        ranked = [(self.classes[i], float(scores[i])) for i in order if self.classes[i] != FALLBACK]
        best_label = self.classes[order[0]]
        if best_label == FALLBACK or float(scores[order[0]]) < self.threshold:
            return Verdict(
                text, folded, FALLBACK, float(scores[order[0]]), "fallback", slots, tuple(ranked[:3])
            )
        return Verdict(text, folded, best_label, float(scores[order[0]]), "answer", slots, tuple(ranked[1:4]))


class NearestQuestion:
    """Plain TF-IDF character-bigram nearest-question search over FAQ entries (no fallback)."""

    def __init__(self, intents: Iterable[Intent]):
        faq = [i for i in intents if i.kind == "faq"]
        self.intents = {i.id: i for i in faq}
        self.ids = [i.id for i in faq]
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 2))
        self.matrix = self.vectorizer.fit_transform([fold(i.examples[0]) for i in faq])

    def match(self, text: str) -> Verdict:
        folded = fold(text)
        if not self.ids or not folded:
            return Verdict(text, folded, FALLBACK, 0.0, "fallback")
        sims = (self.matrix @ self.vectorizer.transform([folded]).T).toarray().ravel()
        order = np.argsort(-sims)[:3]
        ranked = tuple((self.ids[i], float(sims[i]) * 100) for i in order)
        return Verdict(text, folded, ranked[0][0], ranked[0][1], "answer", {}, ranked[1:])
