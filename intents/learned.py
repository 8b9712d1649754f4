"""A learned second opinion for the built-in services (the matcher's `learned` option).

TF-IDF over character 1-3-grams of the normalized key and a linear SVM, trained at
build time on the built-in intents' examples and the out-of-scope examples (class
NONE); never on a dev set. Deterministic (fixed liblinear seed) and fast (~20 ms).

Only the training uses scikit-learn: scoring walks the message's n-grams against
per-gram weight rows, ~50 µs, so the matcher's latency barely moves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


def preload() -> None:
    """Import scikit-learn now (~1 s), e.g. when the web app starts rather than on the
    first resident's message; CLI commands that never match skip the cost."""
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.svm  # noqa: F401


class LearnedIntents:
    def __init__(self, examples: Iterable[tuple[str, str]], temperature: float = 0.1):
        """examples: (normalized key, label) pairs; at least two labels."""
        # Imported here: scikit-learn takes ~1 s to import, paid only by processes that match.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        texts, labels = zip(*examples, strict=True)
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        x = vectorizer.fit_transform(texts)
        model = LinearSVC(C=1.0, random_state=0).fit(x, labels)
        self.classes: list[str] = [str(c) for c in model.classes_]
        coef = model.coef_
        if len(self.classes) == 2:  # binary: one row scores the second class
            coef = [-coef[0], coef[0]]
            intercept = [-model.intercept_[0], model.intercept_[0]]
        else:
            intercept = list(model.intercept_)
        self._intercept = [float(b) for b in intercept]
        idf = vectorizer.idf_
        # gram → (idf, that gram's weight in each class): the whole model as a dict lookup.
        self._rows: dict[str, tuple[float, list[float]]] = {
            gram: (float(idf[j]), [float(row[j]) for row in coef])
            for gram, j in vectorizer.vocabulary_.items()
        }
        self._analyzer = vectorizer.build_analyzer()
        self.temperature = temperature

    def probabilities(self, key: str) -> dict[str, float]:
        """A softmax of the SVM's decision values (a sharp one: temperature 0.1)."""
        counts = Counter(self._analyzer(key))
        scores = list(self._intercept)
        weights: list[tuple[float, list[float]]] = []
        norm = 0.0
        for gram, n in counts.items():
            row = self._rows.get(gram)
            if row is None:
                continue
            w = (1.0 + math.log(n)) * row[0]
            norm += w * w
            weights.append((w, row[1]))
        if norm:
            norm = math.sqrt(norm)
            for w, coefs in weights:
                w /= norm
                for c, v in enumerate(coefs):
                    scores[c] += w * v
        top = max(scores)
        exp = [math.exp((s - top) / self.temperature) for s in scores]
        total = sum(exp)
        return {label: e / total for label, e in zip(self.classes, exp, strict=True)}
