"""Reference data shipped with citizenbot (districts, FAQ seed, routing, schedules).

Loaders read the files next to this module once per process.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


def path(name: str):
    return resources.files("data") / name


@dataclass(frozen=True)
class District:
    name: str  # as the city writes it, e.g. 苓雅區
    zip: str
    lat: float
    lng: float
    english: tuple[str, ...] = ()  # romanized names, lower case: Hanyu Pinyin first, older spellings after

    @property
    def short(self) -> str:
        return self.name[:-1] if self.name.endswith("區") else self.name


@lru_cache(maxsize=1)
def districts() -> tuple[District, ...]:
    with path("districts.csv").open(encoding="utf-8") as f:
        return tuple(
            District(
                row["district"],
                row["zip"],
                float(row["lat"]),
                float(row["lng"]),
                tuple((row.get("english") or "").split()),
            )
            for row in csv.DictReader(f)
        )


# --- geography (one place for every service's distance and "is this in Kaohsiung") ----------

# The city's extent with a margin (lat min, lat max, lng min, lng max); a point inside it must
# also lie within MAX_KM_FROM_CENTROID of a district's centre (the mountain districts are large).
# Without a boundary polygon this is coarse at the city's edges, but it refuses other cities.
KAOHSIUNG_BOX = (22.40, 23.50, 120.10, 121.10)
MAX_KM_FROM_CENTROID = 25.0


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine)."""
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@lru_cache(maxsize=1)
def neighbours() -> tuple[tuple[str, float, float], ...]:
    """Centres of the townships across the city's border (Tainan, Pingtung, Chiayi, Taitung)."""
    with path("neighbors.csv").open(encoding="utf-8") as f:
        return tuple((row["name"], float(row["lat"]), float(row["lng"])) for row in csv.DictReader(f))


def nearest_district(lat: float, lng: float) -> District | None:
    """The district whose centre is nearest, or None when the point is outside Kaohsiung.

    Outside means: off the city's box, far from every district centre, or nearer the centre
    of a neighbouring township than of any district (a coarse stand-in for the border line)."""
    south, north, west, east = KAOHSIUNG_BOX
    if not (south <= lat <= north and west <= lng <= east):
        return None
    best = min(districts(), key=lambda d: distance_km(lat, lng, d.lat, d.lng))
    km = distance_km(lat, lng, best.lat, best.lng)
    if km > MAX_KM_FROM_CENTROID:
        return None
    if any(distance_km(lat, lng, n_lat, n_lng) < km for _, n_lat, n_lng in neighbours()):
        return None
    return best


# Other cities and counties, as addresses and residents name them.
OTHER_CITIES = (
    "臺北", "台北", "新北", "基隆", "桃園", "新竹", "苗栗", "臺中", "台中", "彰化", "南投", "雲林",
    "嘉義", "臺南", "台南", "屏東", "宜蘭", "花蓮", "臺東", "台東", "澎湖", "金門", "連江",
)  # fmt: skip
# Places abroad residents compare with (日本東京的路上也有坑洞嗎). Not 外國, 大陸, 中國 or the
# home countries of most new residents and migrant workers (越南, 泰國…): people from there
# living here ask for our services, and 中國 begins names of firms here.
ABROAD = (
    "日本", "東京", "大阪", "京都", "沖繩", "韓國", "首爾", "香港", "澳門", "上海", "北京", "廣州", "深圳",
    "廈門", "美國", "紐約", "新加坡", "英國", "倫敦", "巴黎",
)  # fmt: skip
# Only as a place: after 在/去/到 or before 的/那邊/也… (日本東京的路上, 在香港). Not as the origin of a
# person (日本人, 美國籍) or a name here (日本料理店旁邊, 上海銀行門口, 美國學校, 廣州街).
_ABROAD_NAMES = "|".join(ABROAD)
_ABROAD = re.compile(
    f"(?:(?<=[在去到])(?:{_ABROAD_NAMES})(?![人籍料菜銀學商路街]))"
    f"|(?:(?:{_ABROAD_NAMES})(?=的|那邊|那裡|這邊|也|都|有|市|政府))"
)


def names_other_city(text: str) -> bool:
    """An address or message that names another city or county, and not Kaohsiung."""
    return "高雄" not in text and any(city in text for city in OTHER_CITIES)


def names_elsewhere(text: str) -> bool:
    """A message about another city or county, or about a place abroad, and not Kaohsiung.
    Addresses are checked with names_other_city() alone: 日本料理店旁邊 is a place here."""
    return names_other_city(text) or ("高雄" not in text and _ABROAD.search(text) is not None)


def in_kaohsiung(lat: float, lng: float, address: str | None = None) -> bool:
    """Whether a point lies in the city; an attached address naming another city wins."""
    if address and names_other_city(address):
        return False
    return nearest_district(lat, lng) is not None


def district_centroid(name: str | None) -> tuple[float, float] | None:
    for d in districts():
        if d.name == name:
            return d.lat, d.lng
    return None


# --- residents' phrasings of the city FAQ ----------------------------------------------------


def question_digest(question: str) -> str:
    """A short fingerprint of an FAQ question, blind to whitespace and line endings."""
    import hashlib

    return hashlib.sha1(" ".join(question.split()).encode("utf-8")).hexdigest()[:12]


@lru_cache(maxsize=1)
def city_faq_phrasings() -> dict[str, tuple[str, tuple[str, ...]]]:
    """FAQ id → (digest of the question they were written for, phrasings), from
    city_faq_phrasings.yaml. A broken file is a bug: this raises."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 0.07 s instead of 0.4 s
    doc = yaml.load(path("city_faq_phrasings.yaml").read_text(encoding="utf-8"), Loader=loader) or {}
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for entry_id, item in doc.items():
        phrasings = tuple(str(p).strip() for p in item["phrasings"] if str(p).strip())
        out[str(entry_id)] = (str(item["question"]), phrasings)
    return out


def shipped_phrasings(entry_id: str, question: str) -> tuple[str, ...]:
    """The phrasings shipped for an FAQ entry, if they were written for this question."""
    found = city_faq_phrasings().get(entry_id)
    if found is None or found[0] != question_digest(question):
        return ()
    return found[1]
