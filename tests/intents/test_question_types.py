"""Question types: a message asking "when" prefers the entry that says when, not the one
that defines the same thing (both hold the same topic words once question words are gone)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from intents.evaluate import build_intents
from intents.faq_index import question_types
from intents.matcher import DEFAULT_OPTIONS, Matcher
from intents.normalize import normalize_pair
from tests.conftest import shared_path


def normalize(text: str) -> str:
    return normalize_pair(text)[1]


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("國土計畫哪時候上路", {"when"}),
        ("何謂國土計畫", {"what"}),
        ("遊說法講的遊說到底是什麼", {"what"}),
        ("土地分割測量要多少錢", {"cost"}),
        ("拖吊場在哪", {"where"}),
        ("為什麼要制定遊說法", {"why"}),
        ("停車費怎麼繳", set()),  # 怎麼 goes with any kind of answer
        ("户政事务所礼拜六几点开", {"when"}),  # simplified Chinese, folded first
    ],
)
def test_kinds_of_answer_asked_for(text, kinds):
    assert question_types(normalize(text)) == kinds


@pytest.fixture(scope="module")
def city():
    intents = build_intents([str(shared_path("data", "kcg_faq.json"))], use_database=False)
    questions = {i.id: i.examples[0] for i in intents if i.kind == "faq"}
    # Without the shipped phrasings too: they also carry 什麼時候 and would hide the effect.
    plain = replace(DEFAULT_OPTIONS, question_types=False, phrasings=False)
    return Matcher(intents), Matcher(intents, options=plain), questions


@pytest.mark.parametrize(
    "text, asked",
    [
        ("國土計畫哪時候上路", "國土計畫何時施行？"),  # not 何謂國土計畫?
        ("實價登錄什麼時候要報", "何時辦理實價登錄申報資訊？（地價業務-10）"),  # not 申報方式為何
    ],
)
def test_the_entry_asking_for_the_same_kind_of_answer_wins(city, text, asked):
    matcher, plain, questions = city
    assert questions[matcher.match(text).intent] == asked
    # Without question types the entry on another kind of answer wins: the part does the work.
    assert questions.get(plain.match(text).intent) != asked
