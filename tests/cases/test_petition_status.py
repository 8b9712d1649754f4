"""案件查詢: own cases, others' cases with and without the code, the lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import cases

from .conftest import make_case


def test_own_cases_newest_first_without_a_code(talk, db):
    now = datetime.now(UTC)
    older, _ = make_case(db, user="console:me", at=now - timedelta(days=2))
    newer, _ = make_case(db, user="console:me", category="streetlight", at=now - timedelta(hours=1))
    make_case(db, user="console:someone")
    with db.session() as s:
        cases.update_case(s, older, now, status="in_progress", note="已派員前往")
    t = talk("console:me")
    out = t("查詢案件進度")
    assert out.index(newer) < out.index(older)
    assert "處理中" in out and "已派員前往" in out and "工務局養護工程處" in out and "路燈故障" in out
    assert out.count("案號：") == 2
    # A number in the first message is used at once.
    out = talk("console:me")(f"{older} 進度如何")
    assert f"案號：{older}" in out and "驗證碼" not in out


def test_own_cases_asked_for_in_english(talk, db):
    number, _ = make_case(db, user="console:me")
    out = talk("console:me")("Hi, I filed a complaint two weeks ago, what is the status?")
    assert f"案號：{number}" in out


def test_others_case_needs_the_code_and_unknown_equals_wrong(talk, db):
    number, code = make_case(db, user="line:Uowner")
    with db.session() as s:  # the code is kept only as a hash
        case = cases.get_case(s, number)
        assert len(code) == 6 and code not in case.verify_hash and len(case.verify_hash) == 64
    t = talk("console:other")
    out = t(f"查詢案件 {number}")
    assert "需要驗證碼" in out and "案號：" not in out
    out = t(code.lower())
    assert f"案號：{number}" in out and "已分派" in out
    # Wrong code and unknown number: the very same answer.
    t2 = talk("console:other2")
    wrong = t2(f"查詢案件 {number} {'X' if code[0] != 'X' else 'Y'}{code[1:]}")
    unknown = t2(f"查詢案件 D2026-999999 {code}")
    assert wrong == unknown == cases_not_found()
    # Without a code, an unknown number asks for the code just like a real one.
    ask_real = talk("console:o3")(f"查詢案件 {number}").replace(number, "N")
    ask_fake = talk("console:o4")("查詢案件 D2026-999998").replace("D2026-999998", "N")
    assert ask_real == ask_fake


def cases_owner(db, number):
    with db.session() as s:
        return cases.get_case(s, number).reporter_key


def cases_not_found():
    from handlers.petition_status import NOT_FOUND

    return NOT_FOUND


def test_lockout_after_five_failures_in_fifteen_minutes(talk, db, engine):
    number, code = make_case(db)
    t = talk("console:guesser")
    for i in range(4):
        assert t(f"查詢 {number} ZZZZZ{i + 2}") == cases_not_found()
    out = t(f"查詢 {number} ZZZZZ9")
    assert "失敗次數過多" in out
    # Even the right code is refused while locked out.
    out = t(f"查詢案件 {number} {code}")
    assert "失敗次數過多" in out and "案號：" not in out
    # A fresh identity (a new web session) gets no fresh tries at this case's code…
    assert "失敗次數過多" in talk("web:fresh-session")(f"查詢案件 {number} {code}")
    # …while other cases, and the reporter's own view, are not affected.
    other, other_code = make_case(db, user="console:owner2")
    assert f"案號：{other}" in talk("console:friend")(f"查詢案件 {other} {other_code}")
    owner = cases_owner(db, number)
    assert f"案號：{number}" in talk(owner)(f"查詢案件 {number}")
    # The lock ends after 15 minutes.
    real = engine.clock
    engine.clock = lambda: real() + timedelta(minutes=16)
    try:
        assert f"案號：{number}" in t(f"查詢案件 {number} {code}")
    finally:
        engine.clock = real


def test_no_cases_and_foreign_numbers(talk):
    t = talk("console:new")
    assert "目前沒有您通報的案件" in t("查詢案件")
    assert "soweb.kcg.gov.tw" in t("1120012345")


def test_another_citys_case_is_that_citys_to_look_up(talk, db):
    t = talk("console:elsewhere")
    out = t("新竹市的陳情案件進度要怎麼查")
    assert "只能查詢高雄市政府受理" in out and "1999" in out
    # The resident can still look up one of ours right after.
    number, _ = make_case(db, user="console:elsewhere")
    assert f"案號：{number}" in t(f"{number} 進度如何")
