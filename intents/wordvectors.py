"""Word vectors: meaning that shared characters miss (借書證 ~ 借閱證, 小孩 ~ 兒童, 罰單 ~ 罰款).

BM25 over character n-grams finds an FAQ entry only through the characters the resident
and the city share. Word vectors bridge different words for the same thing. The vectors
are the 125,796 × 100 word2vec table (Chinese Wikipedia) that the `synonyms` package
(MIT) ships inside its 3.10.2 release; later releases download it at run time instead,
hence the exact pin in pyproject.toml. We read the file directly and never import that
package (its import loads its own copy of jieba and more).

A text becomes the SIF-weighted mean of its words' unit vectors (Arora et al., 2017):
a word weighs a / (a + p(word)), so frequent words say little. The file lists words by
descending frequency, so p(word) is estimated from the rank by Zipf's law. Words are
found by forward maximum matching against the table's own vocabulary after converting
to simplified Chinese (the table's script); a character run the table does not know
is skipped.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import opencc

log = logging.getLogger(__name__)

# Environment override for the table (a word2vec binary file); "off" disables vectors.
ENV = "CITIZENBOT_WORD_VECTORS"
# The longest word looked up when segmenting (the table's words are mostly 2–4 long).
MAX_WORD = 6
# SIF smoothing: words with p(word) far above this weigh little.
SIF_A = 1e-3

_to_simplified = opencc.OpenCC("tw2s")


def default_path() -> Path | None:
    """The table inside the installed `synonyms` package, found without importing it."""
    spec = importlib.util.find_spec("synonyms")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "words.vector"
    return path if path.is_file() else None


class WordVectors:
    """A word → unit vector table with SIF weights, and text embedding on top of it."""

    def __init__(self, words: list[str], vectors: np.ndarray):
        """words[i] has vectors[i] (float32, normalised in place: the table is large)."""
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        vectors /= norms
        # float16 halves the memory (25 MB); cosines need no more precision than that.
        self._unit = vectors.astype(np.float16)
        self._words = words
        self._index = {w: i for i, w in enumerate(words) if w}
        harmonic = math.log(max(len(words), 2)) + 0.5772
        ranks = np.arange(1, len(words) + 1, dtype=np.float64)
        self._weight = (SIF_A / (SIF_A + 1.0 / (ranks * harmonic))).astype(np.float32)
        self.dim = vectors.shape[1]

    @classmethod
    def read_word2vec(cls, path: str | Path) -> WordVectors:
        """Parse word2vec's binary format: a "count dim" line, then per word its UTF-8
        bytes, a space, dim little-endian float32s and (usually) a newline."""
        data = Path(path).read_bytes()
        head_end = data.index(b"\n")
        count, dim = map(int, data[:head_end].split())
        words: list[str] = []
        vectors = np.empty((count, dim), dtype=np.float32)
        pos, size = head_end + 1, 4 * dim
        for i in range(count):
            space = data.index(b" ", pos)
            words.append(data[pos:space].decode("utf-8", "replace").strip())
            pos = space + 1
            vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=pos)
            pos += size
            if data[pos : pos + 1] == b"\n":
                pos += 1
        return cls(words, vectors)

    def __len__(self) -> int:
        return len(self._index)

    def tokens(self, text: str) -> list[int]:
        """Row numbers of the words in text (forward maximum matching, per space-separated chunk)."""
        out: list[int] = []
        index = self._index
        for chunk in _to_simplified.convert(text).split():
            i, n = 0, len(chunk)
            while i < n:
                for length in range(min(MAX_WORD, n - i), 0, -1):
                    row = index.get(chunk[i : i + length])
                    if row is not None:
                        out.append(row)
                        i += length
                        break
                else:
                    i += 1
        return out

    def words(self, text: str) -> list[str]:
        """The words tokens() finds, for debugging and tests."""
        return [self._words[r] for r in self.tokens(text)]

    def embed(self, text: str) -> np.ndarray:
        """The unit SIF-weighted mean vector of text's words (zeros when it has none)."""
        rows = self.tokens(text)
        if not rows:
            return np.zeros(self.dim, dtype=np.float32)
        v = self._weight[rows] @ self._unit[rows].astype(np.float32)
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_many(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed(text)
        return out


@lru_cache(maxsize=1)
def load() -> WordVectors | None:
    """The process-wide table (read once, 0.2 s), or None when vectors are off or missing."""
    setting = os.environ.get(ENV, "").strip()
    if setting.lower() == "off":
        return None
    path = Path(setting) if setting else default_path()
    if path is None or not path.is_file():
        log.warning("word vectors not found (%s); FAQ matching uses characters only", path or "synonyms")
        return None
    return WordVectors.read_word2vec(path)
