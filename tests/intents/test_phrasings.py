"""Residents' phrasings shipped for the city FAQ (data/city_faq_phrasings.yaml): well formed,
attached only to the question they were written for, and used from the database as from the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import data
from bot import faq_store
from bot.cli import main
from bot.db import Database
from intents.catalog import faq_intent
from intents.evaluate import load_rows
from intents.matcher import Matcher, Options
from intents.normalize import fold
from intents.provider import MatcherProvider
from tests.conftest import shared_path

TEST_DATA = Path(__file__).resolve().parents[1] / "data"
# A phrasing the official question alone does not reach (巨大垃圾 is the city's word).
SOFA = ("faq.397150000I.3", "舊沙發舊冰箱要丟 怎麼處理")


@pytest.fixture(scope="module")
def city() -> list[dict]:
    return json.loads(shared_path("data", "kcg_faq.json").read_text(encoding="utf-8"))


def test_the_file_fits_the_city_faq(city):
    shipped = data.city_faq_phrasings()
    questions = {f"faq.{e['organ_no']}.{e['seq']}": e["question"] for e in city}
    assert set(shipped) == set(questions)  # every entry, and no id the city does not have
    for entry_id, (digest, phrasings) in shipped.items():
        assert digest == data.question_digest(questions[entry_id]), entry_id
        assert 7 <= len(phrasings) <= 14, entry_id
        assert len(set(phrasings)) == len(phrasings), entry_id
        assert questions[entry_id].strip() not in phrasings, entry_id


def test_no_phrasing_is_a_test_row():
    """The evaluation must not be answered in advance: no phrasing equals a row of the sets
    written before the phrasings. blind4 was written after them by someone who saw neither
    them nor the matcher; 6 of its 400 rows happen to equal a phrasing and count as they fall
    (tests/intents/test_blind.py gives its figures with and without them)."""
    rows = {
        fold(r.text).replace(" ", "")
        for p in TEST_DATA.glob("*.tsv")
        if not p.name.startswith("blind4_")
        for r in load_rows(p)
    }
    clashes = [
        p
        for _, phrasings in data.city_faq_phrasings().values()
        for p in phrasings
        if fold(p).replace(" ", "") in rows
    ]
    assert clashes == []


def test_digest_ignores_whitespace_only():
    assert data.question_digest("如何 申請？\r\n") == data.question_digest("如何 申請？")
    assert data.question_digest("如何申請？") != data.question_digest("如何申請補助？")


def test_phrasings_attach_only_to_the_question_they_were_written_for(city):
    item = next(e for e in city if f"faq.{e['organ_no']}.{e['seq']}" == SOFA[0])
    current = faq_intent(SOFA[0], item["question"], item["answer"])
    assert SOFA[1] in current.phrasings and current.examples == (item["question"],)
    rewritten = faq_intent(SOFA[0], item["question"] + "（修正）", item["answer"])
    assert rewritten.phrasings == ()
    assert faq_intent("faq.staff_new", "自己寫的問題", "答案").phrasings == ()


def test_a_phrasing_reaches_its_entry_only_with_phrasings(city):
    from intents.catalog import load_builtin_intents
    from intents.evaluate import load_faq_json

    intents = load_builtin_intents() + load_faq_json(shared_path("data", "kcg_faq.json"))
    assert Matcher(intents).match(SOFA[1]).intent == SOFA[0]
    assert Matcher(intents, options=Options(phrasings=False)).match(SOFA[1]).intent != SOFA[0]


def test_imported_entries_carry_their_phrasings_until_staff_reword_them(database_url, monkeypatch, capsys):
    db = Database(database_url)
    try:
        faq_store.import_file(db, shared_path("data", "kcg_faq.json"))
        provider = MatcherProvider(db.sessionmaker, check_interval=0)
        matcher = provider.get()
        assert len(matcher.intents[SOFA[0]].phrasings) == len(data.city_faq_phrasings()[SOFA[0]][1])
        assert matcher.match(SOFA[1]).intent == SOFA[0]

        monkeypatch.setenv("DATABASE_URL", database_url)
        assert main(["faq", "show", SOFA[0]]) == 0
        out = capsys.readouterr().out
        assert "shipped phrasings (" in out and SOFA[1] in out

        assert main(["faq", "edit", SOFA[0], "--question", "大型家具怎麼丟？", "--by", "erin"]) == 0
        out = capsys.readouterr().out
        assert "no longer apply" in out
        assert main(["faq", "show", SOFA[0]]) == 0
        out = capsys.readouterr().out
        assert "not used, written for an earlier wording" in out and SOFA[1] not in out
        assert provider.refresh().intents[SOFA[0]].phrasings == ()
    finally:
        db.dispose()
