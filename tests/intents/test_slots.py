"""Slots: case numbers, districts (full and short names, landmarks), dispatch categories."""

from __future__ import annotations

import pytest

import data
from intents.normalize import fold, normalize
from intents.slots import AMBIGUOUS_SHORT, extract_slots


def slots(text: str) -> dict[str, str]:
    return extract_slots(fold(text), normalize(text))


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我的案件D2026-000123現在進度如何", "D2026-000123"),
        ("查一下p2026-000045謝謝", "P2026-000045"),
        ("案件編號d2026000777處理狀況", "D2026-000777"),
        ("案號Ｄ２０２６－０００１２３的進度", "D2026-000123"),
        ("幫我看看 D-2026-000999 好嗎", "D2026-000999"),
        ("my case number is P2026-000777.", "P2026-000777"),
        ("1999的案號是 11203150001", "11203150001"),
        ("in order to follow up: 1130512345", "1130512345"),  # "order" alone names no order
    ],
)
def test_case_number_inside_sentences(text, number):
    assert slots(text)["case_number"] == number


@pytest.mark.parametrize(
    "text",
    [
        "電話0912345678請回電",
        "打07-3373686",
        "123456",
        "D2026-12",
        "包裹單號 123456789012",
        "訂單編號 12345678",
        "refund for my order number 113-4456789",
    ],
)
def test_phone_numbers_and_fragments_are_not_case_numbers(text):
    assert "case_number" not in slots(text)


def test_every_district_by_full_name():
    names = [d.name for d in data.districts()]
    assert len(names) == 38
    for name in names:
        assert slots(f"{name}中正路的路燈壞了")["district"] == name


def test_every_district_by_short_name():
    for d in data.districts():
        text = f"{d.short}那邊的路燈壞了"  # "那邊" makes even 大樹/橋頭 a place
        assert slots(text)["district"] == d.name, text
        if d.short not in AMBIGUOUS_SHORT:
            assert slots(f"{d.short}有路燈壞了")["district"] == d.name


def test_every_district_in_english():
    for d in data.districts():
        assert d.english, d.name
        for form in d.english:
            text = f"The streetlight in {form.title()} district is out"
            assert slots(text)["district"] == d.name, text
            if form != "taoyuan":
                assert slots(f"pothole near {form}, please fix")["district"] == d.name


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("Big tree down on the road in Gushan by the pier", "鼓山區"),
        ("Status of my Fengshan park petition?", "鳳山區"),
        ("Yung-An streetlight broken", "永安區"),
        ("pothole in Yong'an district", "永安區"),
        ("Taoyuan airport is far", None),  # 桃園's airport, not 桃源區
        ("Sanmin Road has a pothole", None),  # a road named after a district, as 三民路 (苓雅區)
        ("Sanmin district, Jiuru Rd", "三民區"),
        ("sanminroad", None),
    ],
)
def test_districts_in_english(text, district):
    assert slots(text).get("district") == district


@pytest.mark.parametrize(
    "text",
    [
        "有棵大樹倒在路中間",
        "橋頭的紅綠燈壞了好久",
        "新興產業的法律問題",
        "永安街的路燈壞了",
        "三民路有坑洞",
        "在大樹下的路燈壞了",
        "住在湖內的人都說路燈壞了",
        "大樹那個樹枝快斷了",  # "that branch" of a big tree
        "岡山路有坑洞",  # a road named after the district
        "大樹擋住中正路了",  # a big tree blocking a road
        "大樹往馬路的方向倒下來",  # falling towards a road
        "前面那棵大樹中間的路燈壞了",  # not where the message opens
    ],
)
def test_ambiguous_short_names_and_road_names_are_not_districts(text):
    assert "district" not in slots(text)


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("鳳山市五甲路路燈不亮", "鳳山區"),
        ("衛武營旁邊有倒樹", "鳳山區"),
        ("駁二附近的紅綠燈", "鹽埕區"),
        ("大樹區的路燈壞了", "大樹區"),
        ("橋頭區有坑洞", "橋頭區"),
        ("大樹", "大樹區"),
        ("高雄市苓雅区的路灯", "苓雅區"),
        ("路燈桿被撞歪了 在湖內中山路上", "湖內區"),  # 在 + short name + a road's name
        ("我想約下禮拜的法律諮詢 鳯山那邊", "鳳山區"),  # 鳯: a variant of 鳳
        ("岡山 路面凹陷 好大一坑", "岡山區"),  # folded to 岡山路面…: 路面 is not 岡山路
        ("大社那個十字路口的紅綠燈停電", "大社區"),  # "that intersection": a place on a map
        ("大社中山路 7-11對面 路燈忽明忽暗", "大社區"),  # opens with district and road
        ("路樹倒了 在茂林往多納的路上", "茂林區"),  # the start of a route
        ("田寮往古亭那條路有坑洞", "田寮區"),
        ("大樹國小旁邊的路燈不亮", "大樹區"),  # a landmark named after the district
        ("巨蛋旁邊的紅綠燈壞了", "左營區"),  # landmarks residents name instead of the district
        ("a tree fell on the road near Weiwuying", "鳳山區"),
    ],
)
def test_aliases_and_landmarks(text, district):
    assert slots(text)["district"] == district


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("馬路破一個大洞", "pothole"),
        ("路面有坑動", "pothole"),
        ("路登不亮", "streetlight"),
        ("紅綠燈一直閃黃燈", "traffic_signal"),
        ("紅綠登壞掉", "traffic_signal"),
        ("颱風把樹吹倒壓到路燈", "fallen_tree"),
        ("大樹區的路燈壞了", "streetlight"),  # 大樹區 is a place, not a tree
        ("the traffic light is broken", "traffic_signal"),
        ("pothole on the street", "pothole"),
        ("tree down on the road", "fallen_tree"),
        ("道路施工完路面沒鋪平", "pothole"),
        # A road named with a lamp gone dark is about the lamp, not the road surface.
        ("那段產業道路的燈全暗了", "streetlight"),
        ("street lights are all out on my lane", "streetlight"),
        ("the traffic lights at the corner are stuck on red", "traffic_signal"),
        ("中山路左轉箭頭都不亮", "traffic_signal"),  # the arrow is a signal, not a streetlight
        ("數倒了快來處理", "fallen_tree"),  # 數 (shù) typed for 樹
    ],
)
def test_category(text, category):
    assert slots(text).get("category") == category


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # full-width digits and dash, emoji and an English word around the case number
        ("😡我的case Ｄ２０２６－０００４５１到底處理好了沒？？", {"case_number": "D2026-000451"}),
        # simplified Chinese, district short name and a category in one message
        ("凤山那边路灯坏了👎", {"district": "鳳山區", "category": "streetlight"}),
        # mixed scripts: English category, Chinese district
        ("前鎮區 pothole 好大", {"district": "前鎮區", "category": "pothole"}),
        ("ＳＴＲＥＥＴＬＩＧＨＴ broken 在左營區", {"district": "左營區", "category": "streetlight"}),
        # a case number glued to Chinese on both sides
        ("查詢案號p2026000012進度謝謝", {"case_number": "P2026-000012"}),
        # a phone number beside a case number: the case number wins
        ("案件D2026-000777 我的電話0912345678", {"case_number": "D2026-000777"}),
        # a landmark and a fallen tree, written in simplified Chinese with emoji
        ("卫武营旁边的树倒了🌳", {"district": "鳳山區", "category": "fallen_tree"}),
    ],
)
def test_tricky_mixed_inputs(text, expected):
    got = slots(text)
    assert {k: got.get(k) for k in expected} == expected, got


def test_every_district_short_name_inside_a_legal_question():
    for d in data.districts():
        text = f"{d.short}區公所的法律諮詢時間" if d.short in AMBIGUOUS_SHORT else f"{d.short}有法律諮詢嗎"
        assert slots(text).get("district") == d.name, text
