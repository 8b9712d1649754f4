"""Text normalization shared by the matcher, slot extraction and the FAQ index.

`fold` handles width, case, script and punctuation: NFKC folds full-width letters
and digits, OpenCC turns simplified Chinese into traditional (Taiwan variants), emoji and
punctuation go. `normalize` then builds the key the matcher compares: question
templates and particles stripped (請問, 可以嗎, 謝謝, 嗎, 呢…), colloquial words and
misspellings mapped onto the vocabulary of the examples (synonyms.yaml), and
homophone typos of key domain words repaired by pinyin (路登 → 路燈, 坑動 → 坑洞).
Every step can be switched off (`Steps`) so the evaluation can measure its effect.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import opencc
import yaml
from pypinyin import Style, lazy_pinyin

# s2tw converts characters only: the phrase tables of s2twp rewrite traditional text too
# (大社區 → 大社群), which would break district names and examples.
_converter = opencc.OpenCC("s2tw")
# Variant characters that input methods offer beside the standard ones (鳯山 for 鳳山).
_VARIANTS = str.maketrans("鳯裏綫衆峯啓爲産敎溼舘滙埸", "鳳裡線眾峰啟為產教濕館匯場")

# Everything that is not a letter, digit or CJK ideograph separates nothing in
# Chinese and is dropped; ASCII words keep a single space between them.
_DROP = re.compile(r"[^\w\u3400-\u9fff\uf900-\ufaff]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_INNER_SPACE = re.compile(r"(?<=[^a-z0-9 ]) | (?=[^a-z0-9 ])")


@dataclass(frozen=True)
class Steps:
    """Which normalization steps run (all by default); the ablation turns them off one by one."""

    templates: bool = True
    synonyms: bool = True
    pinyin: bool = True


ALL_STEPS = Steps()


@lru_cache(maxsize=1)
def _lexicon() -> dict:
    path = resources.files("intents") / "synonyms.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=1)
def synonyms() -> list[tuple[str, str]]:
    """(colloquial, canonical) pairs, longest first so longer phrases win."""
    pairs = []
    for canonical, variants in (_lexicon().get("synonyms") or {}).items():
        for variant in variants:
            pairs.append((fold(str(variant)), fold(str(canonical))))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


@lru_cache(maxsize=1)
def _synonym_steps() -> list[tuple[str | re.Pattern[str], str]]:
    """Chinese variants replace as substrings; English ones only as whole words
    ("street" holds "tree", "whole" holds "hole")."""
    steps: list[tuple[str | re.Pattern[str], str]] = []
    for variant, canonical in synonyms():
        if not variant:
            continue
        if variant.isascii():
            steps.append((re.compile(rf"(?<![a-z0-9]){re.escape(variant)}(?![a-z0-9])"), canonical))
        else:
            steps.append((variant, canonical))
    return steps


@lru_cache(maxsize=1)
def _templates() -> re.Pattern[str]:
    """Question templates and politeness that carry no intent (請問, 可以嗎, 謝謝…)."""
    words = sorted((fold(str(w)) for w in _lexicon().get("templates") or ()), key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words if w)) if words else re.compile(r"(?!x)x")


# Sentence particles: dropped anywhere (they never change what is asked).
_PARTICLES = re.compile(r"[嗎呢啦喔哦耶欸唷呀嘛囉齁蛤]+")
# 吧/啊 are particles only at the end (酒吧 is a bar).
_TAIL = re.compile(r"[吧啊阿]+$")


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Width, case, script and punctuation folding, without any rewriting of words."""
    text = unicodedata.normalize("NFKC", text)
    text = _converter.convert(text).translate(_VARIANTS)
    text = text.lower()
    text = _DROP.sub(" ", text).strip()
    # Keep a space only between two ASCII word characters ("street light"); drop it elsewhere.
    text = _SPACES.sub(" ", text)
    return _INNER_SPACE.sub("", text)


@lru_cache(maxsize=4096)
def _syllable(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL)[0] if "\u3400" <= char <= "\u9fff" else char


@lru_cache(maxsize=1)
def _homophone_targets() -> tuple[dict[tuple[str, ...], str], frozenset[str]]:
    """Pinyin (without tones) of each domain word worth repairing → the word; and the
    syllables such words start with (only there is a window worth looking at)."""
    targets: dict[tuple[str, ...], str] = {}
    for word in _lexicon().get("homophone_targets") or ():
        word = fold(str(word))
        targets[tuple(_syllable(c) for c in word)] = word
    return targets, frozenset(k[0] for k in targets)


def fix_homophones(key: str) -> str:
    """Repair a window that sounds like a domain word and shares a character with it
    (路登 → 路燈, 紅綠登 → 紅綠燈, 坑動 → 坑洞). Sharing a character keeps unrelated
    words that merely sound alike (授予, 服役) untouched."""
    targets, starts = _homophone_targets()
    if not targets or not key:
        return key
    sounds = [_syllable(c) for c in key]
    if not starts.intersection(sounds):
        return key
    out: list[str] = []
    i = 0
    while i < len(key):
        if sounds[i] not in starts:
            out.append(key[i])
            i += 1
            continue
        for size in (4, 3, 2):
            if i + size > len(key):
                continue
            word = targets.get(tuple(sounds[i : i + size]))
            window = key[i : i + size]
            if word and word != window and set(word) & set(window):
                out.append(word)
                i += size
                break
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def apply_synonyms(key: str) -> str:
    has_ascii = any("a" <= c <= "z" for c in key)
    for variant, canonical in _synonym_steps():
        if isinstance(variant, str):
            if variant in key:
                key = key.replace(variant, canonical)
        elif has_ascii:
            key = variant.sub(canonical, key)
    return key


def strip_templates(key: str) -> str:
    stripped = _templates().sub("", key)
    stripped = _PARTICLES.sub("", stripped)
    return _TAIL.sub("", stripped).strip()


def _tidy(key: str) -> str:
    return _INNER_SPACE.sub("", _SPACES.sub(" ", key)).strip()


@lru_cache(maxsize=65536)
def normalize_pair(text: str, steps: Steps = ALL_STEPS) -> tuple[str, str]:
    """(words made canonical, the same with templates stripped): cues read the first,
    similarity the second."""
    key = fold(text)
    if steps.pinyin:
        key = fix_homophones(key)
    if steps.synonyms:
        key = apply_synonyms(key)
    full = _tidy(key)
    return full, (_tidy(strip_templates(full)) if steps.templates else full)


def normalize_with(text: str, steps: Steps = ALL_STEPS) -> str:
    return normalize_pair(text, steps)[1]


def normalize(text: str) -> str:
    """The key the matcher compares: folded, templates stripped, words made canonical."""
    return normalize_pair(text, ALL_STEPS)[1]
