"""The matcher on blind data: tests/data/blind_*.tsv were written by someone who saw neither the
matcher's examples nor its vocabulary, after the matcher was built, and have never been tuned on.

These are the honest figures of issue 5 (closing note): services 93.8%, out of scope 94.3%,
category 100%, FAQ first 73.3%, top-3 83.3%. The thresholds sit just under them so a drop
fails CI; raising them is only honest with new blind data, never by tuning on these rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.evaluate import build_intents, equivalents, evaluate, load_rows
from intents.matcher import Matcher
from tests.conftest import shared_path

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def blind():
    intents = build_intents([str(shared_path("data", "kcg_faq.json"))], use_database=False)
    rows = load_rows(DATA / "blind_intents.tsv") + load_rows(DATA / "blind_faq.tsv")
    return rows, evaluate(Matcher(intents), rows, 30, equivalents(intents))


def test_blind_set_is_what_it_claims(blind):
    rows, _ = blind
    intents = [r for r in rows if not r.intent.startswith("faq.")]
    assert len(intents) == 200 and sum(r.intent == "fallback" for r in intents) == 70
    assert sum(r.intent.startswith("faq.") for r in rows) == 120


def test_blind_figures(blind):
    _, r = blind
    assert r["service_accuracy"] >= 0.93, r["confusions"]
    assert r["oos_rejection"] >= 0.94, r["confusions"]
    assert r["category_accuracy"] >= 0.97
    assert r["district_accuracy"] >= 0.97
    assert r["faq_first"] >= 0.72
    assert r["faq_top3"] >= 0.82
