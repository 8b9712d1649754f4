"""Slot extraction: district, dispatch category and case number, from normalized text."""

from __future__ import annotations

import re
from functools import lru_cache

import data

from .normalize import fold

# Short district names that are also everyday words (大樹 "big tree", 橋頭 "bridge
# end", 新興 "emerging"...): recognised only with 區 or when they are the whole message.
AMBIGUOUS_SHORT = {"大樹", "橋頭", "新興", "大社", "永安", "三民", "內門", "前金", "林園", "美濃", "鳥松", "田寮"}

# Historic and colloquial names residents still use.
DISTRICT_ALIASES = {
    "鳳山市": "鳳山區",
    "岡山鎮": "岡山區",
    "旗山鎮": "旗山區",
    "美濃鎮": "美濃區",
    "三民鄉": "那瑪夏區",
    "那瑪夏鄉": "那瑪夏區",
    "茄定": "茄萣區",
    "左營高鐵": "左營區",
    "駁二": "鹽埕區",
    "高雄車站": "三民區",
    "高雄火車站": "三民區",
    "夢時代": "前鎮區",
    "衛武營": "鳳山區",
    "蓮池潭": "左營區",
    "佛光山": "大樹區",
    "義大": "大樹區",
    "愛河": "前金區",
    "西子灣": "鼓山區",
    "中山大學": "鼓山區",
    "小港機場": "小港區",
    "高雄機場": "小港區",
}

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "pothole": ("坑洞", "路面不平", "道路不平", "馬路不平", "路不平", "路面破", "路面凹", "路面坑", "柏油", "路破", "凹陷", "坑"),
    "streetlight": ("路燈", "燈不亮", "燈壞", "燈沒亮", "燈熄", "燈閃", "燈一直閃", "照明", "燈泡"),
    "traffic_signal": ("紅綠燈", "號誌", "紅燈", "綠燈", "黃燈", "行人燈", "小綠人", "signal"),
    "fallen_tree": ("路樹", "倒樹", "樹倒", "樹木", "樹枝", "斷枝", "樹幹", "倒塌的樹", "大樹倒", "樹", "tree"),
}
# Order matters where words overlap: 紅綠燈 must win over 路燈-ish "燈" words.
CATEGORY_ORDER = ("traffic_signal", "pothole", "fallen_tree", "streetlight")

CASE_NUMBER = re.compile(r"(?<![0-9a-z])([pd])[-\s]?(\d{4})[-\s]?(\d{6})(?![0-9])", re.IGNORECASE)
# Other systems' numbers (1999, 市長信箱): 8 to 16 digits, possibly with dashes.
FOREIGN_CASE_NUMBER = re.compile(r"(?<![0-9])(\d{3,5}-?\d{4,11})(?![0-9])")


@lru_cache(maxsize=1)
def _district_patterns() -> list[tuple[str, str, bool]]:
    """(surface form, district name, needs_context) longest first."""
    forms: list[tuple[str, str, bool]] = []
    for d in data.districts():
        forms.append((d.name, d.name, False))
        forms.append((d.short, d.name, d.short in AMBIGUOUS_SHORT))
    for alias, name in DISTRICT_ALIASES.items():
        forms.append((fold(alias), name, False))
    forms.sort(key=lambda f: -len(f[0]))
    return forms


def extract_district(folded: str) -> str | None:
    """The first district named in already folded text, as the city writes it (e.g. 鳳山區)."""
    best: tuple[int, str] | None = None
    for form, name, needs_context in _district_patterns():
        start = folded.find(form)
        if start < 0:
            continue
        if needs_context and folded != form:
            continue
        if best is None or start < best[0]:
            best = (start, name)
    return best[1] if best else None


def _has_word(text: str, word: str) -> bool:
    if word.isascii():  # English words must stand alone: "street" holds "tree"
        return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None
    return word in text


def extract_category(key: str) -> str | None:
    """The dispatch category named in normalized text (synonyms already applied)."""
    for category in CATEGORY_ORDER:
        if any(_has_word(key, word) for word in CATEGORY_WORDS[category]):
            return category
    return None


def extract_case_number(folded: str) -> str | None:
    """A case number in our format (D2026-000123), canonicalised; else another system's number."""
    m = CASE_NUMBER.search(folded)
    if m:
        return f"{m.group(1).upper()}{m.group(2)}-{m.group(3)}"
    m = FOREIGN_CASE_NUMBER.search(folded)
    if m and len(m.group(1).replace("-", "")) >= 8:
        return m.group(1)
    return None


def extract_slots(folded: str, key: str | None = None) -> dict[str, str]:
    """Slots from folded text; `key` is the normalized text (synonyms applied) when known."""
    slots: dict[str, str] = {}
    if district := extract_district(folded):
        slots["district"] = district
    if category := extract_category(key if key is not None else folded):
        slots["category"] = category
    if case_number := extract_case_number(folded):
        slots["case_number"] = case_number
    return slots
