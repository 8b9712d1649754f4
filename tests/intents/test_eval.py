"""The matcher on the dev set: a drop below these figures fails CI.

The thresholds sit just below what the matcher achieves (see `citizenbot eval`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.catalog import load_builtin_intents
from intents.evaluate import build_matcher, evaluate, load_rows
from intents.normalize import fold
from tests.conftest import shared_path

DATA = Path(__file__).resolve().parents[1] / "data"
DEVSET = DATA / "devset.tsv"


@pytest.fixture(scope="module")
def rows():
    return load_rows(DEVSET)


@pytest.fixture(scope="module")
def builtin_matcher():
    return build_matcher(use_database=False)


def test_devset_is_large_and_covers_every_builtin_intent(rows):
    assert len(rows) >= 500
    labels = {r.intent for r in rows}
    assert {i.id for i in load_builtin_intents()} | {"fallback"} <= labels
    assert sum(r.intent == "fallback" for r in rows) >= 100


def test_devset_is_kept_apart_from_the_examples(rows):
    learned = {fold(e) for i in load_builtin_intents() for e in i.examples}
    copies = [r.text for r in rows if fold(r.text) in learned]
    assert copies == []


def test_builtin_examples_are_plentiful():
    # Enough to cover how residents ask; a curated list staff can still read through (and
    # bench/bench_matcher.py keeps the cost of each example in sight). Reports cover four
    # categories, so they get more room.
    for intent in load_builtin_intents():
        assert 60 <= len(intent.examples) <= (450 if intent.id == "dispatch_report" else 350), intent.id


def test_devset_figures(rows, builtin_matcher):
    result = evaluate(builtin_matcher, rows)
    assert result["in_scope_accuracy"] >= 0.98, result["confusions"]
    assert result["oos_rejection"] >= 0.98, result["confusions"]
    assert result["category_accuracy"] >= 0.98
    assert result["district_accuracy"] >= 0.98


def test_city_faq_does_not_swallow_services_or_chit_chat(rows):
    matcher = build_matcher([str(shared_path("data", "kcg_faq.json"))], use_database=False)
    assert len(matcher.intents) > 1400
    result = evaluate(matcher, rows)
    assert result["in_scope_accuracy"] >= 0.98, result["confusions"]
    # devset.tsv predates the city FAQ: some of its "fallback" rows are city questions an
    # FAQ entry now answers (停車費怎麼繳, 身分證遺失要怎麼補辦), so its rejection rate with the
    # FAQ loaded is lower by design; test_heldout.py holds the honest out-of-scope figure.
    assert result["oos_rejection"] >= 0.85, result["confusions"]
    # Street words in small talk (路燈好漂亮, 大樹下好乘涼) must not reach an FAQ entry.
    # (闖紅燈罰多少 is a city question with no entry: left to the honest figures.)
    chit_chat = [
        r
        for r in rows
        if r.intent == "fallback" and ("燈" in r.text or "樹" in r.text) and "罰" not in r.text
    ]
    assert len(chit_chat) >= 10
    assert [r.text for r in chit_chat if matcher.match(r.text).intent != "fallback"] == []
    # A clear street problem is a dispatch report even where the city FAQ has a near question.
    for text in ["路面多處坑洞造成危險", "路燈故障不亮", "颱風吹倒路樹擋住路"]:
        assert matcher.match(text).intent == "dispatch_report", text


@pytest.mark.parametrize(
    "text", ["路燈好漂亮", "樹好美", "我喜歡紅綠燈的設計", "今天天氣如何", "", "😂", "   ", "？？？"]
)
def test_near_misses_and_empty_fall_back(builtin_matcher, text):
    verdict = builtin_matcher.match(text)
    assert verdict.intent == "fallback"
    assert verdict.decision == "fallback"


def test_verdict_never_names_the_out_of_scope_pseudo_intent(rows, builtin_matcher):
    for row in rows:
        verdict = builtin_matcher.match(row.text)
        assert verdict.intent in builtin_matcher.intents or verdict.intent == "fallback"
        assert all(i in builtin_matcher.intents for i, _ in verdict.alternatives)


def test_chit_chat_offers_no_did_you_mean(builtin_matcher):
    # The engine shows a fallback verdict's alternatives as suggestions: none for chit-chat.
    for text in ["今天天氣如何", "晚餐吃什麼好", "你喜歡什麼顏色"]:
        assert builtin_matcher.match(text).alternatives == (), text
