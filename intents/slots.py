"""Slot extraction: district, dispatch category and case number, from normalized text."""

from __future__ import annotations

import re
from functools import lru_cache

import data

from .normalize import fold

# Short district names that are also everyday words (大樹 "big tree", 橋頭 "bridge
# end", 新興 "emerging", 桃源 "paradise", 彌陀 as in 阿彌陀佛...): recognised only with
# 區/鄉/鎮, as the whole message, or followed by a word that names a place (大樹那邊).
AMBIGUOUS_SHORT = {
    "大樹",
    "橋頭",
    "新興",
    "永安",
    "內門",
    "湖內",
    "桃源",
    "彌陀",
    "杉林",
    "茂林",
    "田寮",
    "大社",
}
_PLACE_AFTER = ("那邊", "這邊", "那裡", "這裡", "那里", "一帶", "附近", "地區", "市區")
# 大社那個十字路口: "that/this" and a kind of place on a map, not a part of a tree or a bridge.
_PLACE_NOUN_AFTER = re.compile(r"(?:那個|這個|那條|這條|那段|這段)(?:十字)?(?:路口|路段|馬路|道路|大馬路)")
# A short name followed by 路/街 is a road named after the district (三民路 is in 苓雅區),
# unless 路 begins a word of its own (岡山 路面凹陷 arrives folded as 岡山路面凹陷).
_ROAD_AFTER = ("路", "街", "主義")
_NOT_ROAD_AFTER = ("路面", "路燈", "路樹", "路況")
# 在湖內中山路上: after 在/住 and before a road's name, even an ambiguous short name is
# the place (the name holds no 的/下/旁…: 在大樹下的路燈 is under a tree).
_PLACE_BEFORE = ("在", "住")
_NOT_IN_ROAD_NAME = "的在下倒旁邊上前後裡內外"
_ROAD_NAME = re.compile(rf"[^\W\d{_NOT_IN_ROAD_NAME}]{{1,4}}[路街]")
# 大社中山路 7-11對面: a message that opens with the short name and a road's name is an address
# written the usual way, district first (folding has removed the punctuation between clauses).
# A shorter road name than after 在, so that 大樹擋住中正路 and 大樹往馬路倒 (a big tree blocking
# a road, falling towards one) stay a tree.
_OPENING_ROAD_NAME = re.compile(rf"[^\W\d{_NOT_IN_ROAD_NAME}擋壓往向朝]{{2,3}}[路街]")
# 茂林往多納的路上, 內門往順賢宮那條路: the start of a route is a place, whatever else the name means.
_ROUTE_AFTER = re.compile(r"[往到][^\W\d路邊]{1,4}(?:的?路上|那條路|那段路)")
# 橋頭火車站, 大樹國小, 田寮區公所: a landmark named after the district is in it.
_LANDMARK_AFTER = ("火車站", "車站", "捷運站", "國小", "國中", "高中", "市場", "區公所", "公所", "老街", "夜市", "農會", "派出所")

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
    "巨蛋": "左營區",
    "瑞豐夜市": "鼓山區",
    "六合夜市": "新興區",
    "美麗島站": "新興區",
    "澄清湖": "鳥松區",
    "高雄展覽館": "前鎮區",
    "科工館": "三民區",
    "高美館": "鼓山區",
    "高雄市立美術館": "鼓山區",
    "流行音樂中心": "鹽埕區",
    "weiwuying": "鳳山區",
    "kaohsiung arena": "左營區",
    "pier 2": "鹽埕區",
    "pier2": "鹽埕區",
}

# Words looked for in the normalized key (synonyms.yaml already mapped 街燈 → 路燈,
# 窟窿 → 坑洞, 紅綠登 → 紅綠燈…).
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "pothole": (
        "坑洞",
        "路面不平",
        "道路不平",
        "馬路不平",
        "路不平",
        "路面破",
        "路面凹",
        "路面坑",
        "路面下陷",
        "路面塌",
        "路面隆起",
        "塌陷",
        "龜裂",
        "柏油",
        "路破",
        "凹陷",
        "凹下",
        "坑",
        "洞",
        "pothole",
    ),
    "streetlight": (
        "路燈",
        "燈不亮",
        "燈壞",
        "燈沒亮",
        "燈熄",
        "燈閃",
        "燈一直閃",
        "照明",
        "燈泡",
        "街的燈",
        "那支燈",
        "的燈壞",
        "streetlight",
        "street light",
        "street lamp",
    ),
    "traffic_signal": (
        "紅綠燈",
        "號誌",
        "紅燈",
        "綠燈",
        "黃燈",
        "行人燈",
        "小綠人",
        "左轉箭頭",
        "右轉箭頭",
        "直行箭頭",
        "箭頭燈",
        "倒數秒",
        "signal",
        "traffic light",
    ),
    "fallen_tree": (
        "路樹",
        "倒樹",
        "樹倒",
        "樹木",
        "樹枝",
        "斷枝",
        "樹幹",
        "倒塌的樹",
        "大樹倒",
        "樹",
        "tree",
    ),
}
# Said of a road without naming a lamp, signal or tree, these still mean the surface.
WEAK_POTHOLE_WORDS = ("凹", "陷", "鋪平", "補平", "補好", "不平", "路面", "道路", "馬路")
# A lamp (燈) said to be dark anywhere in the message, with no other thing named.
WEAK_STREETLIGHT_WORDS = ("沒亮", "不亮", "暗")
# Order matters where words overlap: 紅綠燈 must win over 路燈-ish "燈" words.
CATEGORY_ORDER = ("traffic_signal", "pothole", "fallen_tree", "streetlight")

CASE_NUMBER = re.compile(r"(?<![0-9a-z])([pd])[-\s]?(\d{4})[-\s]?(\d{6})(?![0-9])", re.IGNORECASE)
# Other systems' numbers (1999, 市長信箱): 8 to 16 digits, possibly with dashes.
FOREIGN_CASE_NUMBER = re.compile(r"(?<![0-9])(\d{3,5}[-\s]?\d{4,11})(?![0-9])")
# Long numbers that name something else: a parcel, an order, an invoice, an account.
NOT_A_CASE = (
    "訂單",
    "包裹",
    "物流",
    "快遞",
    "宅配",
    "貨運",
    "發票",
    "帳號",
    "統編",
    "統一編號",
    "信用卡",
    "卡號",
    # English as whole words: "in order to" names no order.
    "order number",
    "order no",
    "my order",
    "tracking",
    "parcel",
    "package",
    "refund",
    "invoice",
)
# Phone numbers are not case numbers: mobile 09xx-xxxxxx, landline 07-xxxxxxx.
PHONE_NUMBER = re.compile(r"^(09\d{2}-?\d{6}|0\d{1,2}-?\d{6,8})$")


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


@lru_cache(maxsize=1)
def _district_regex() -> tuple[re.Pattern[str], dict[str, tuple[str, bool]]]:
    forms = _district_patterns()  # longest first, so the alternation prefers 鳳山區 to 鳳山
    table = {form: (name, needs_context) for form, name, needs_context in reversed(forms)}
    return re.compile("|".join(re.escape(f) for f, _, _ in forms)), table


# Romanized names that are also another place's: 桃源區 is Taoyuan, and so is 桃園 city.
AMBIGUOUS_ENGLISH = {"taoyuan"}


@lru_cache(maxsize=1)
def _english_regex() -> tuple[re.Pattern[str], dict[str, str]]:
    """Romanized district names (Gushan, Fongshan, Yong'an…) as whole words, with an optional
    "district" after (required for the ambiguous ones). Folding has made ' and - spaces."""
    table: dict[str, str] = {}
    for d in data.districts():
        for form in d.english:
            table[form.replace("'", " ").replace("-", " ")] = d.name
            table[form.replace("'", "").replace("-", "")] = d.name
    alternation = "|".join(re.escape(f) for f in sorted(table, key=len, reverse=True))
    # Followed by road or street it is a road named after the district (as 三民路 is in 苓雅區).
    road = r"(?! ?(?:road|rd|street|st)(?![a-z]))"
    return re.compile(rf"(?<![a-z])({alternation})(?![a-z]){road}( ?dist(?:rict)?)?"), table


def _english_district(folded: str) -> str | None:
    pattern, table = _english_regex()
    for m in pattern.finditer(folded):
        if m.group(2) or m.group(1) not in AMBIGUOUS_ENGLISH:
            return table[m.group(1)]
    return None


def extract_district(folded: str) -> str | None:
    """The first district named in already folded text, as the city writes it (e.g. 鳳山區);
    else one named in English (Gushan → 鼓山區)."""
    return _chinese_district(folded) or _english_district(folded)


def _chinese_district(folded: str) -> str | None:
    pattern, table = _district_regex()
    pos = 0
    while (m := pattern.search(folded, pos)) is not None:
        form = m.group(0)
        name, needs_context = table[form]
        after = folded[m.end() :]
        if form != name[:-1]:
            return name  # a full name or an alias
        before = folded[m.start() - 1 : m.start()]
        road = after.startswith(_ROAD_AFTER) and not after.startswith(_NOT_ROAD_AFTER)
        if not road and (
            not needs_context
            or folded == form
            or after.startswith(_PLACE_AFTER)
            or _PLACE_NOUN_AFTER.match(after) is not None
            or (before in _PLACE_BEFORE and _ROAD_NAME.match(after) is not None)
            or (m.start() == 0 and _OPENING_ROAD_NAME.match(after) is not None)
            or _ROUTE_AFTER.match(after) is not None
            or after.startswith(_LANDMARK_AFTER)
        ):
            return name
        pos = m.start() + 1
    return None


def extract_category(key: str) -> str | None:
    """The dispatch category named in normalized text (synonyms already applied).

    The first thing named wins (颱風把樹吹倒壓到路燈 is a fallen tree); at the same
    place CATEGORY_ORDER decides."""
    best: tuple[int, int, str] | None = None
    for rank, category in enumerate(CATEGORY_ORDER):
        for word in CATEGORY_WORDS[category]:
            if word.isascii():
                m = re.search(rf"(?<![a-z]){re.escape(word)}", key)
                start = m.start() if m else -1
            else:
                start = key.find(word)
            if start >= 0 and (best is None or (start, rank) < best[:2]):
                best = (start, rank, category)
    if best is None and "燈" in key and any(word in key for word in WEAK_STREETLIGHT_WORDS):
        return "streetlight"
    if best is None and any(word in key for word in WEAK_POTHOLE_WORDS):
        return "pothole"
    return best[2] if best else None


def _names_whose(folded: str) -> bool:
    """A word saying whose a long number is (訂單, 包裹, refund…)."""
    return any(
        re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", folded) if word.isascii() else word in folded
        for word in NOT_A_CASE
    )


def names_another_number(folded: str) -> bool:
    """A long number and a word saying whose it is: another system's, no case."""
    return FOREIGN_CASE_NUMBER.search(folded) is not None and _names_whose(folded)


def extract_case_number(folded: str) -> str | None:
    """A case number in our format (D2026-000123), canonicalised; else another system's number."""
    m = CASE_NUMBER.search(folded)
    if m:
        return f"{m.group(1).upper()}{m.group(2)}-{m.group(3)}"
    if _names_whose(folded):
        return None
    for m in FOREIGN_CASE_NUMBER.finditer(folded):
        number = re.sub(r"\s", "-", m.group(1))
        if len(number.replace("-", "")) >= 8 and not PHONE_NUMBER.match(number):
            return number
    return None


def without_districts(text: str) -> str:
    for d in data.districts():
        if d.name in text:
            text = text.replace(d.name, " ")
    return text


def extract_slots(folded: str, key: str | None = None) -> dict[str, str]:
    """Slots from folded text; `key` is the normalized text (synonyms applied) when known."""
    slots: dict[str, str] = {}
    if district := extract_district(folded):
        slots["district"] = district
    # District names hold category words (大樹區, 鳥松區): not a fallen tree.
    if category := extract_category(without_districts(key if key is not None else folded)):
        slots["category"] = category
    if case_number := extract_case_number(folded):
        slots["case_number"] = case_number
    return slots
