"""The unanswered-questions log: fallbacks and 都不是 are recorded, grouped, resolved."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.cli import main as cli
from bot.messages import Message, Text
from bot.models import IntentExample, MessageLog
from handlers import parse_postback
from intents import Verdict
from intents.normalize import normalize


@pytest.fixture
def nothing_matches(engine, monkeypatch):
    """Every text falls back, with two suggestions: the engine's logic, not the matcher's, under test."""
    matcher = engine.matchers.get()

    def match(text):
        alts = (("legal_consultation", 50.0), ("human_agent", 45.0))
        return Verdict(text, normalize(text), "fallback", 50.0, "fallback", {}, alts)

    monkeypatch.setattr(matcher, "match", match)


def say(engine, text, user="console:u1"):
    return engine.handle(Message(user, "console", "text", text=text))


def tap(engine, choice, user="console:u1"):
    return engine.handle(Message(user, "console", "postback", text=choice.text, data=choice.data))


def test_fallbacks_are_grouped_and_resolved_into_examples(
    nothing_matches, engine, db, monkeypatch, database_url, capsys
):
    asked = [
        "市民卡遺失怎麼補辦",
        "市民卡掉了怎麼辦",
        "停車費怎麼繳",
        "路邊停車費要怎麼繳",
        "市民卡遺失怎麼補辦",
    ]
    for n, text in enumerate(asked):
        say(engine, text, user=f"console:u{n}")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli(["unanswered", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    sizes = sorted(g["count"] for g in groups)
    assert sizes == [2, 3], groups
    card = next(g for g in groups if g["count"] == 3)
    assert {t["text"] for t in card["texts"]} == {"市民卡遺失怎麼補辦", "市民卡掉了怎麼辦"}

    assert (
        cli(["unanswered", "resolve", str(card["group"]), "--intent", "no_such_intent", "--by", "staff"]) == 1
    )
    assert cli(["unanswered", "resolve", "999999", "--ignore", "--by", "staff"]) == 1
    assert cli(["unanswered", "resolve", str(card["group"]), "--intent", "human_agent", "--by", "staff"]) == 0
    with db.session() as s:
        taught = sorted(s.scalars(select(IntentExample.text)).all())
        assert taught == ["市民卡掉了怎麼辦", "市民卡遺失怎麼補辦"]
        resolved = s.scalars(select(MessageLog).where(MessageLog.resolved_as == "human_agent")).all()
        assert len(resolved) == 3
    capsys.readouterr()
    assert cli(["unanswered", "--json"]) == 0
    left = json.loads(capsys.readouterr().out)
    assert [g["count"] for g in left] == [2]
    # The taught wordings reach the real matcher without a restart.
    monkeypatch.undo()
    assert engine.matchers.refresh().match("市民卡掉了怎麼辦").intent == "human_agent"


def test_suggestions_then_none_of_these_then_rephrase(nothing_matches, engine, db):
    replies = say(engine, "我想問一下那個路的事情")
    last = replies[-1]
    assert [c.label for c in last.choices] == ["法律諮詢", "轉真人", "都不是"]
    none = last.choices[-1]
    assert parse_postback(none.data).get("q")
    out = tap(engine, none)
    assert "還是沒有聽懂" in "\n".join(r.text for r in out if isinstance(r, Text))
    with db.session() as s:
        row = s.scalars(select(MessageLog).where(MessageLog.text == "我想問一下那個路的事情")).one()
        assert row.decision == "none_of_these"


def test_picking_a_suggestion_starts_it_and_labels_the_question(nothing_matches, engine, db):
    replies = say(engine, "我想找人幫忙")
    pick = next(c for c in replies[-1].choices if c.label == "轉真人")
    out = "\n".join(r.text for r in tap(engine, pick) if isinstance(r, Text))
    assert "服務人員" in out
    with db.session() as s:
        row = s.scalars(select(MessageLog).where(MessageLog.text == "我想找人幫忙")).one()
        assert (row.decision, row.intent) == ("picked", "human_agent")


def test_a_group_becomes_a_new_faq_entry_the_bot_then_answers(
    nothing_matches, engine, db, monkeypatch, database_url, capsys
):
    for n, text in enumerate(["市民卡遺失怎麼補辦", "市民卡掉了怎麼辦"]):
        say(engine, text, user=f"console:v{n}")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli(["unanswered", "--json"]) == 0
    [group] = json.loads(capsys.readouterr().out)
    answer = "市民卡遺失請攜帶身分證件至各區公所或市民卡服務中心辦理補發。"
    args = ["unanswered", "resolve", str(group["group"]), "--faq-question", "市民卡遺失怎麼補辦？"]
    assert cli([*args, "--by", "staff"]) == 2  # an answer is required
    assert cli([*args, "--faq-answer", answer, "--faq-id", "faq.citizen_card_lost", "--by", "staff"]) == 0
    monkeypatch.undo()  # the real matcher from here on
    engine.matchers.refresh()  # what the next message in every worker sees, once rebuilt
    out = "\n".join(r.text for r in say(engine, "市民卡掉了怎麼辦", user="console:w1") if isinstance(r, Text))
    assert answer in out
