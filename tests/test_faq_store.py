"""The FAQ service layer: built-in seed, city import, staff edits, answers through the engine."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from bot import faq_store
from bot.db import Database
from bot.messages import Message, Text
from bot.models import FaqEntry
from intents.provider import catalog_version
from tests.conftest import shared_path


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def version(db) -> int:
    with db.session() as s:
        return catalog_version(s)


def row(db, entry_id) -> FaqEntry | None:
    with db.session() as s:
        return s.get(FaqEntry, entry_id)


def count(db, source=None) -> int:
    with db.session() as s:
        stmt = select(func.count()).select_from(FaqEntry)
        if source:
            stmt = stmt.where(FaqEntry.source == source)
        return s.scalar(stmt)


def say(engine, text, user="web:faq"):
    replies = engine.handle(Message(user, user.split(":")[0], "text", text=text))
    texts = [r for r in replies if isinstance(r, Text)]
    return "\n".join(r.text for r in texts), texts


CITY = [
    {
        "organ_no": "397220000A",
        "seq": "9",
        "organ": "研考會",
        "question": "話務中心電話？",
        "answer": "答覆內容：\r\n撥1999。",
        "url": "https://soweb.kcg.gov.tw/#/faqdetail/397220000A/9",
    },
    {
        "organ_no": "397290000H",
        "seq": "1",
        "organ": "交通局",
        "question": "號誌專線？",
        "answer": "07-2299804",
        "url": "",
    },
]


# --- built-in entries ------------------------------------------------------------------


def test_builtin_entries_are_complete_and_valid():
    entries = faq_store.load_builtin_entries()
    assert len(entries) >= 15
    for entry in entries:
        assert re.fullmatch(r"faq\.[a-z0-9_]+", entry["id"]), entry["id"]
        assert 8 <= len(entry["examples"]) <= 20, entry["id"]
        assert entry["question"] and entry["answer"]
    answers = "\n".join(e["answer"] for e in entries)
    # The facts the brief asks for, each in some answer.
    for fact in (
        "24小時",
        "07-3352999",
        "2008年）4月1日",
        "1999高雄萬事通",
        "07-3373686",
        "四維行政中心",
        "kgo.kcg.gov.tw",
        "soweb.kcg.gov.tw/#/query",
        "08:00–17:30",
        "量血壓",
        "2022年2月",
        "一指通",
        "2021年9月17日",
        "新住民會館",
        "旗津區公所",
        "30天",
        "khreport.kcg.gov.tw",
        "1,500",
        "45天",
        "07-2299804",
        "07-2626888",
        "0800-066666",
        "路霸",
    ):
        assert fact in answers, fact


def test_a_broken_builtin_file_is_refused():
    with pytest.raises(faq_store.UsageError, match="faq.<slug>"):
        faq_store.load_builtin_entries("entries:\n  - {id: faq.Bad, question: q, answer: a}\n")
    with pytest.raises(ValueError, match="twice"):
        faq_store.load_builtin_entries(
            "entries:\n  - {id: faq.a, question: q, answer: a}\n  - {id: faq.a, question: q, answer: a}\n"
        )


def test_seed_inserts_once_and_never_clobbers_staff_edits(db, database_url):
    entries = faq_store.load_builtin_entries()
    assert faq_store.seed_builtin_faq(database_url) == len(entries)
    assert count(db, "builtin") == len(entries)
    v1 = version(db)
    assert v1 > 0
    assert faq_store.seed_builtin_faq(database_url) == 0
    assert version(db) == v1  # nothing changed, no rebuild anywhere

    with db.session() as s:
        faq_store.edit_entry(s, "faq.hotline_1999", answer="staff wording", by="alice")
        faq_store.edit_entry(s, "faq.kgo_app", add_examples=["一路通app"], by="bob")
        faq_store.remove_entry(s, "faq.overseas_reports")
        s.delete(s.get(FaqEntry, "faq.proposal_rules"))

    # A new release changes every built-in text.
    release = [{**e, "answer": e["answer"] + "（新版）"} for e in entries]
    with db.session() as s:
        inserted, updated = faq_store.seed(s, release)
    assert inserted == 1  # the deleted one comes back
    assert row(db, "faq.hotline_1999").answer == "staff wording"
    assert row(db, "faq.hotline_1999").updated_by == "alice"
    kgo = row(db, "faq.kgo_app")
    assert "一路通app" in kgo.examples and not kgo.answer.endswith("（新版）")
    assert row(db, "faq.overseas_reports").active is False  # staff removal sticks
    assert row(db, "faq.health_service").answer.endswith("（新版）")  # untouched: follows the release
    assert row(db, "faq.proposal_rules").answer.endswith("（新版）")
    assert updated == len(entries) - 3  # all but the edited two and the reinserted one
    assert version(db) > v1


def test_seed_leaves_a_staff_entry_with_a_builtin_id(db, database_url):
    with db.session() as s:
        faq_store.add_entry(s, entry_id="faq.kgo_app", question="自己寫的", answer="自己的答案", by="carol")
    faq_store.seed_builtin_faq(database_url)
    kept = row(db, "faq.kgo_app")
    assert (kept.source, kept.answer) == ("staff", "自己的答案")


# --- import -----------------------------------------------------------------------------


def test_import_of_the_city_faq_is_fast_and_idempotent(db, tmp_path):
    path = shared_path("data", "kcg_faq.json")
    result = faq_store.import_file(db, path)
    print(f"\nimported {result.inserted} city FAQ entries in {result.seconds:.2f}s")
    assert (result.total, result.inserted, result.updated, result.skipped) == (1424, 1424, 0, 0)
    assert result.seconds < 5
    assert count(db, "import") == 1424
    entry = row(db, "faq.397220000A.13")
    assert entry.organ == "高雄市政府研究發展考核委員會"
    assert entry.url == "https://soweb.kcg.gov.tw/#/faqdetail/397220000A/13"
    v1 = version(db)

    again = faq_store.import_file(db, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1424)
    assert version(db) == v1

    data = json.loads(path.read_text(encoding="utf-8"))
    data[5]["answer"] += "（已更新）"
    changed = tmp_path / "faq.json"
    changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    third = faq_store.import_file(db, changed)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1423)
    assert row(db, f"faq.{data[5]['organ_no']}.{data[5]['seq']}").answer.endswith("（已更新）")
    assert version(db) == v1 + 1  # one bump per import, not per entry
    assert count(db) == 1424


def test_reimport_keeps_staff_text_examples_and_removals(db):
    with db.session() as s:
        faq_store.import_entries(s, CITY)
    with db.session() as s:
        faq_store.edit_entry(s, "faq.397220000A.9", answer="員工改寫的答案", by="dave")
        faq_store.edit_entry(s, "faq.397290000H.1", add_examples=["紅綠燈專線"], by="dave")
        faq_store.remove_entry(s, "faq.397290000H.1")
    newer = [{**item, "answer": item["answer"] + "（市府更新）"} for item in CITY]
    with db.session() as s:
        result = faq_store.import_entries(s, newer)
    assert result.kept == ["faq.397220000A.9"] and result.updated == 1
    assert row(db, "faq.397220000A.9").answer == "員工改寫的答案"
    signal = row(db, "faq.397290000H.1")
    assert signal.answer.endswith("（市府更新）")  # examples-only edits do not take the text over
    assert signal.examples == ["紅綠燈專線"] and signal.active is False

    with db.session() as s:
        forced = faq_store.import_entries(s, newer, overwrite_edits=True)
    assert forced.updated == 1
    assert row(db, "faq.397220000A.9").answer.endswith("（市府更新）")
    assert row(db, "faq.397220000A.9").updated_by == "import"


def test_bad_entries_are_skipped_with_a_message_each(db):
    good = CITY[0]
    items = [
        good,
        "not an object",
        {k: v for k, v in good.items() if k != "answer"} | {"seq": "2"},
        good | {"seq": "3", "question": 42},
        good | {"seq": "4", "question": "   "},
        good | {"seq": "5", "answer": ""},
        good | {"seq": "6 / 7"},
        good | {"seq": True},
        good | {"seq": "8", "url": ["x"]},
        good | {"seq": "9"},  # the same id as the first one
        CITY[1] | {"seq": 2},  # an integer seq is fine
    ]
    with db.session() as s:
        result = faq_store.import_entries(s, items)
    assert result.inserted == 2
    messages = "\n".join(result.problems)
    assert len(result.problems) == 9
    for expected in (
        "entry #2: expected an object",
        "entry #3: missing field(s) answer",
        "entry #4 (faq.397220000A.3): question must be a string",
        "entry #5 (faq.397220000A.4): question must not be empty",
        "entry #6 (faq.397220000A.5): answer must not be empty",
        "entry #7: seq must be a non-empty code",
        "entry #8: seq must be a non-empty code",
        "entry #9 (faq.397220000A.8): url must be a string or null",
        "entry #10 (faq.397220000A.9): duplicate",
    ):
        assert expected in messages
    assert row(db, "faq.397290000H.2").answer == "07-2299804"
    assert row(db, "faq.397290000H.2").url is None
    assert row(db, "faq.397220000A.9").answer == "答覆內容：\n撥1999。"  # CRLF folded, text kept


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"organ_no": "1"}', "expected a JSON array"),
        (b'"text"', "expected a JSON array"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_an_unusable_file_writes_nothing(db, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(faq_store.ImportFileError, match=message):
        faq_store.import_file(db, path)
    assert count(db) == 0 and version(db) == 0


def test_import_does_not_take_over_a_staff_id(db):
    with db.session() as s:
        faq_store.add_entry(s, entry_id="faq.abc.1", question="員工的問題", answer="員工的答案")
    with db.session() as s:
        result = faq_store.import_entries(s, [CITY[0] | {"organ_no": "abc", "seq": "1"}])
    assert result.inserted == 0 and "belongs to a staff entry" in result.problems[0]
    assert row(db, "faq.abc.1").answer == "員工的答案"


def test_dry_run_counts_but_writes_nothing(db, tmp_path):
    path = tmp_path / "city.json"
    path.write_text(json.dumps(CITY, ensure_ascii=False), encoding="utf-8")
    result = faq_store.import_file(db, path, dry_run=True)
    assert result.inserted == 2
    assert count(db) == 0


# --- staff operations --------------------------------------------------------------


def test_staff_input_is_validated(db):
    with db.session() as s:
        for kwargs, message in [
            ({"entry_id": "faq.Parking"}, "lower-case"),
            ({"entry_id": "parking"}, "start with 'faq.'"),
            ({"entry_id": "faq.a..b"}, "no empty parts"),
            ({"entry_id": "faq.停車"}, "lower-case"),
            ({"answer": "  "}, "answer must not be empty"),
            ({"url": "soweb.kcg.gov.tw"}, "full http"),
            ({"by": "builtin"}, "reserved"),
            ({"answer": "長" * 5001}, "at most 5000"),
        ]:
            args = {"question": "問題", "answer": "答案"} | kwargs
            with pytest.raises(faq_store.UsageError, match=message):
                faq_store.add_entry(s, **args)
        row_ = faq_store.add_entry(s, question="問題", answer="答案", examples=["問題", " 說法 ", "說法", ""])
        assert row_.id.startswith("faq.staff_") and row_.examples == ["說法"]
        with pytest.raises(faq_store.FaqError, match="already exists"):
            faq_store.add_entry(s, entry_id=row_.id, question="q", answer="a")
        with pytest.raises(faq_store.UsageError, match="no example"):
            faq_store.edit_entry(s, row_.id, remove_examples=["沒有這句"])
    assert count(db) == 1


def test_edit_reports_changes_and_bumps_only_when_something_changed(db):
    with db.session() as s:
        faq_store.add_entry(s, entry_id="faq.parking", question="停車費怎麼繳", answer="超商", by="eve")
    v = version(db)
    with db.session() as s:
        _, changed = faq_store.edit_entry(s, "faq.parking", answer="超商", by="eve")
    assert changed == [] and version(db) == v
    with db.session() as s:
        _, changed = faq_store.edit_entry(
            s, "faq.parking", answer="超商或線上", url="https://example.org/p", by="eve"
        )
    assert changed == ["answer", "url"] and version(db) == v + 1
    with db.session() as s:
        faq_store.edit_entry(s, "faq.parking", url="", by="eve")
    assert row(db, "faq.parking").url is None


def test_list_search_folds_script_and_filters_source(db):
    with db.session() as s:
        faq_store.import_entries(s, CITY)
        faq_store.add_entry(s, entry_id="faq.mailbox", question="市長信箱怎麼寫", answer="上網", by="f")
        faq_store.remove_entry(s, "faq.397290000H.1")
    with db.session() as s:
        assert [r.id for r in faq_store.list_entries(s, search="市长信箱")] == ["faq.mailbox"]
        assert [r.id for r in faq_store.list_entries(s, source="import")] == ["faq.397220000A.9"]
        assert len(faq_store.list_entries(s, source="import", include_removed=True)) == 2


# --- answers through the engine -------------------------------------------------------------


def test_a_seeded_example_is_answered(engine, database_url):
    faq_store.seed_builtin_faq(database_url)
    out, _ = say(engine, "哪裡可以量血壓")
    assert "08:00–17:30" in out
    out, _ = say(engine, "出國報告在哪裡看")
    assert "khreport.kcg.gov.tw" in out


def test_an_imported_question_is_answered_with_its_source(engine, db):
    faq_store.import_file(db, shared_path("data", "kcg_faq.json"))
    out, texts = say(engine, "請問民眾如何查詢「市長信箱」反映案件辦理結果？")
    # The city writes links with a full-width colon; the answer gives a link that opens.
    assert "https://soweb.kcg.gov.tw/#/query" in out
    assert "資料來源：高雄市政府研究發展考核委員會" in out
    assert "https://soweb.kcg.gov.tw/#/faqdetail/397220000A/13" in out
    button = texts[-1].choices[0]
    assert button.action == "uri" and button.uri.endswith("/397220000A/13")


def test_a_long_answer_is_cut_for_chat_with_a_pointer(engine, db):
    with db.session() as s:
        faq_store.add_entry(
            s, entry_id="faq.long", question="超長的說明是什麼", answer="這是一句說明。" * 400, by="g"
        )
    out, _ = say(engine, "超長的說明是什麼")
    assert len(out) < 1400 and "完整說明請洽 1999" in out
