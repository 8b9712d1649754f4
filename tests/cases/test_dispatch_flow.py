"""路面通報 through the engine: every step, what the first message said, bad input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.models import Case, CaseFollower, CaseHistory, CasePhoto, Conversation
from handlers.base import ContentError

from .conftest import CITY_HALL, JPEG, NEAR_CITY_HALL, PNG, TAIPEI_101, make_case


def count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_full_flow_asks_each_step_and_creates_a_routed_case(talk, db):
    t = talk()
    out = t("我要通報")
    assert "哪一類問題" in out
    out = t.press("路面坑洞")
    assert "位置" in out
    assert any(c.action == "location" for c in t.last[-1].choices)
    out = t(location=CITY_HALL, address="802高雄市苓雅區四維三路2號")
    assert "照片" in out
    assert {c.action for c in t.last[-1].choices} >= {"camera", "camera_roll"}
    out = t(image=PNG)
    assert "已收到照片" in out and "描述" in out
    out = t("約 30 公分的坑洞，機車容易摔")
    assert "請確認通報內容" in out and "路面坑洞" in out and "苓雅區" in out and "照片：1 張" in out
    out = t.press("確認送出")
    assert "已受理您的通報" in out
    assert "工務局養護工程處四維養護工程隊" in out and "07-3421418" in out
    assert "前" in out and ("今天" in out or "明天" in out)
    with db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.number in out
        assert case.number.startswith("D20") and len(case.number) == 12
        assert case.status == "assigned" and case.district == "苓雅區" and not case.location_approximate
        assert case.due_at - case.created_at == timedelta(hours=4)
        assert case.reporter_key == "console:r1"
        assert [h.to_status for h in case.history] == ["received", "assigned"]
        photo = s.scalars(select(CasePhoto)).one()
        assert photo.case_id == case.id and photo.content_type == "image/png"
        assert s.get(Conversation, "console:r1").flow is None


def test_first_message_slots_are_not_asked_again(talk, db):
    t = talk()
    out = t("鳳山區光遠路有坑洞")
    assert "哪一類" not in out and "鳳山區" in out
    out = t.press("只知道在鳳山區")
    assert "照片" in out
    t.press("略過")
    t.press("略過")
    out = t.press("確認送出")
    assert "鳳山養護工程隊" in out
    with db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.category == "pothole" and case.district == "鳳山區" and case.location_approximate


def test_typed_address_and_coordinates(talk, db):
    t = talk()
    t("路燈不亮")
    out = t("中正路和民生路口")  # no district: asked again
    assert "找不到這個地點所在的行政區" in out
    out = t("岡山區柳橋東路 10 號前")
    assert "照片" in out
    t("略過")
    out = t("略過")
    assert "岡山區柳橋東路" in out and "位置約略" in out
    t("確認送出")
    t2 = talk("console:r2")
    t2("紅綠燈壞了")
    out = t2("22.6207, 120.3120")
    assert "照片" in out
    t2("略過"), t2("略過")
    out = t2("確認")
    assert "交通局" in out and "07-2299804" in out
    with db.session() as s:
        assert {c.district for c in s.scalars(select(Case))} == {"岡山區", "苓雅區"}


def test_location_outside_kaohsiung_is_refused(talk, db):
    t = talk()
    t("我要報路樹倒了")
    out = t(location=TAIPEI_101, address="台北市信義區信義路五段7號")
    assert "不在高雄市" in out
    out = t("25.04,121.56")
    assert "不在高雄市" in out
    out = t("台北市大安區復興南路")
    assert "不在高雄市" in out
    with db.session() as s:
        assert s.get(Conversation, "console:r1").step == "location"
    assert count(db, Case) == 0


def test_a_first_message_about_another_citys_street_is_answered_as_such(talk, db):
    # Not a report here and not "I don't understand": the resident is told whose it is.
    t = talk()
    out = t("台北市的路燈壞了")
    assert "不在高雄市" in out and "1999" in out
    with db.session() as s:
        conversation = s.get(Conversation, "console:r1")
        assert conversation is None or conversation.flow is None
    assert count(db, Case) == 0
    # Naming Kaohsiung as well keeps it a report here.
    out = talk("console:r2")("高雄市三民區路燈壞了")
    assert "不在高雄市" not in out


def test_a_street_abroad_is_not_ours_but_a_resident_from_abroad_is_heard(talk, db):
    out = talk()("日本東京的路上也有坑洞嗎")
    assert "不在高雄市" in out
    assert count(db, Case) == 0
    # 日本人 names where someone is from, not where the street is: the report goes on.
    out = talk("console:r2")("我是日本人 住的巷子口路燈壞了")
    assert "不在高雄市" not in out
    with db.session() as s:
        assert s.get(Conversation, "console:r2").step == "location"
    # Nor does a shop here named after a place abroad.
    out = talk("console:r3")("上海銀行門口的紅綠燈壞了")
    assert "不在高雄市" not in out
    out = talk("console:r3")("三民區 日本料理店旁邊")
    assert "照片" in out


def test_photo_too_large_not_an_image_and_content_failure(talk, db, engine):
    t = talk()
    t("坑洞")
    t(location=CITY_HALL)
    out = t(image=b"GIF89a" + b"\x00" * 100)
    assert "不是照片" in out
    out = t(image=b"%PDF-1.4 hello")
    assert "不是照片" in out
    out = t(image=b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024))
    assert "太大" in out
    # LINE content API down: the flow stays at the photo step.
    calls = []

    def failing(message_id, max_bytes):
        calls.append(message_id)
        raise ContentError("content API answered 500")

    engine.fetch_content = failing
    from .conftest import msg

    replies = engine.handle(msg("console:r1", "image", image_id="M1"))
    text = "\n".join(r.text for r in replies)
    assert calls == ["M1"] and "無法下載" in text
    assert {c.label for c in replies[-1].choices} >= {"略過"}
    with db.session() as s:
        assert s.get(Conversation, "console:r1").step == "photo"
    assert count(db, CasePhoto) == 0
    out = t(image=JPEG)  # a retry that works
    assert "已收到照片" in out


def test_html_and_very_long_description(talk, db):
    t = talk()
    t("路燈壞了")
    t(location=CITY_HALL)
    t("略過")
    out = t("<script>alert(1)</script><b>燈</b>不亮 &lt;i&gt;" + "很" * 10_000)
    assert "已保留前 500 字" in out
    assert "<script>" not in out and "<b>" not in out
    t("確認送出")
    with db.session() as s:
        case = s.scalars(select(Case)).one()
        assert len(case.description) == 500
        assert "<" not in case.description and case.description.startswith("alert(1) 燈 不亮")


def test_resuming_a_day_later_starts_over(talk, engine, db):
    t = talk()
    t("我要通報坑洞")
    t(location=CITY_HALL)
    t(image=JPEG)
    real = engine.clock
    engine.clock = lambda: real() + timedelta(hours=25)
    try:
        out = t("確認送出")
    finally:
        engine.clock = real
    assert "逾時" in out
    assert count(db, Case) == 0
    with db.session() as s:
        assert s.get(Conversation, "console:r1").flow is None


def test_edit_from_the_summary(talk, db):
    t = talk()
    t("坑洞")
    t(location=CITY_HALL)
    t("略過")
    t("略過")
    t.press("修改")
    out = t.press("類別")
    assert "哪一類" in out
    out = t.press("路燈故障")
    assert "請確認通報內容" in out and "路燈故障" in out
    t.press("確認送出")
    with db.session() as s:
        assert s.scalars(select(Case)).one().category == "streetlight"


def test_duplicate_offers_follow_or_report_anyway(talk, db):
    number, _ = make_case(db, user="line:Uother")
    t = talk()
    t("坑洞")
    t(location=NEAR_CITY_HALL)
    t("略過")
    t("略過")
    out = t.press("確認送出")
    assert number in out and "追蹤該案件" in [c.label for c in t.last[-1].choices]
    out = t.press("追蹤該案件")
    assert f"已為您追蹤案件 {number}" in out
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        assert s.scalars(select(CaseFollower)).one().user_key == "console:r1"
    # Another resident reports anyway; a different category is never a duplicate.
    t2 = talk("console:r2")
    t2("坑洞")
    t2(location=NEAR_CITY_HALL)
    t2("略過"), t2("略過"), t2("確認送出")
    out = t2.press("仍要通報")
    assert "已受理您的通報" in out
    t3 = talk("console:r3")
    t3("路燈不亮")
    t3(location=NEAR_CITY_HALL)
    t3("略過"), t3("略過")
    assert "已受理您的通報" in t3("確認送出")
    assert count(db, Case) == 3
    assert count(db, CaseHistory) >= 7


def test_a_location_sent_before_the_flow_can_start_it(talk, db):
    from handlers.base import postback

    t = talk()
    out = t(postback=postback(intent="dispatch_report", lat=CITY_HALL[0], lng=CITY_HALL[1]))
    assert "哪一類" in out
    out = t.press("路樹傾倒")
    assert "照片" in out  # the location is not asked again
    t("略過"), t("略過")
    assert "已受理您的通報" in t("確認送出")
    with db.session() as s:
        assert s.scalars(select(Case)).one().district == "苓雅區"


def test_a_request_for_another_service_is_not_taken_for_an_address(talk, db):
    t = talk()
    out = t("鳳山區光遠路有坑洞")
    assert "位置" in out
    # The district is known, but this is no place: a status request the matcher asks about.
    out = t("上禮拜我有報那個路燈不亮 到現在都還是暗的 是在處理了嗎")
    assert "照片" not in out
    assert "案件查詢" in [c.label for c in t.last[-1].choices]
    # Nor is a sentence that names no place: asked again, with the district-only button.
    out = t("今天天氣很好")
    assert "不像地點" in out and "照片" not in out
    assert "只知道在鳳山區" in [c.label for c in t.last[-1].choices]
    # The report is still where it was: a place typed now is taken, in the district said before.
    out = t("光遠路跟五甲路口")
    assert "照片" in out
    t("略過"), t("略過")
    out = t.press("確認送出")
    assert "已受理您的通報" in out
    with db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.district == "鳳山區" and case.address == "光遠路跟五甲路口"


def test_the_other_service_asked_about_inside_a_flow_starts_on_its_button(talk, db):
    t = talk()
    t("鳳山區光遠路有坑洞")
    t("上禮拜我有報那個路燈不亮 到現在都還是暗的 是在處理了嗎")
    out = t.press("案件查詢")
    assert "目前沒有您通報的案件紀錄" in out  # the status service answers, for this resident
    with db.session() as s:
        assert s.get(Conversation, "console:r1").flow != "dispatch_report"
    assert count(db, Case) == 0
