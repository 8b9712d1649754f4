"""Text normalization shared by the matcher, slot extraction and the FAQ index.

NFKC folds full-width letters and digits; OpenCC turns simplified Chinese into
Taiwanese traditional; case, punctuation, emoji and spaces are dropped; a small
synonym table maps colloquial words onto the vocabulary of the examples.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

import opencc
import yaml

_converter = opencc.OpenCC("s2twp")

# Everything that is not a letter, digit or CJK ideograph separates nothing in
# Chinese and is dropped; ASCII words keep a single space between them.
_DROP = re.compile(r"[^\w\u3400-\u9fff\uf900-\ufaff]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def synonyms() -> list[tuple[str, str]]:
    """(colloquial, canonical) pairs, longest first so longer phrases win."""
    path = resources.files("intents") / "synonyms.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for canonical, variants in (doc.get("synonyms") or {}).items():
        for variant in variants:
            pairs.append((fold(str(variant)), fold(str(canonical))))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


def fold(text: str) -> str:
    """Width, case and script folding without synonym rewriting."""
    text = unicodedata.normalize("NFKC", text)
    text = _converter.convert(text)
    text = text.lower()
    text = _DROP.sub(" ", text)
    # Keep a space only between two ASCII word characters ("street light"); drop it elsewhere.
    text = re.sub(r"(?<=[^a-z0-9]) | (?=[^a-z0-9])", "", text.strip())
    return _SPACES.sub(" ", text)


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """The key the matcher compares: folded, with colloquial words mapped to canonical ones."""
    key = fold(text)
    for variant, canonical in synonyms():
        if variant and variant in key:
            key = key.replace(variant, canonical)
    return key
