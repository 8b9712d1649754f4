"""The engine: state in the database, global commands at any step, staged fallback."""

from __future__ import annotations

import pytest

from bot.messages import Message, Text
from bot.models import Conversation, HumanAgentRequest


def say(engine, text, user="console:t1"):
    replies = engine.handle(Message(user, user.split(":")[0], "text", text=text))
    return "\n".join(r.text for r in replies if isinstance(r, Text)), replies


def test_flow_survives_a_new_app_instance(make_app):
    first = make_app().extensions["citizenbot"]["engine"]
    out, _ = say(first, "轉真人")
    assert "已為您通知服務人員" in out
    # A brand-new app (another gunicorn worker, or after a restart) continues the flow.
    second = make_app().extensions["citizenbot"]["engine"]
    out, _ = say(second, "我家門口的路燈已經壞了三天")
    assert "已記下您的說明" in out
    with second.db.session() as s:
        request = s.query(HumanAgentRequest).one()
        assert "路燈已經壞了三天" in request.last_text
        assert s.get(Conversation, "console:t1").flow is None


def test_cancel_and_menu_at_any_step(engine):
    say(engine, "轉真人")
    out, _ = say(engine, "取消")
    assert "已取消" in out
    with engine.db.session() as s:
        assert s.get(Conversation, "console:t1").flow is None
    say(engine, "轉真人")
    out, replies = say(engine, "主選單")
    assert "請選擇您需要的服務" in out
    assert [c.label for c in replies[-1].choices][:3] == ["路面通報", "案件查詢", "法律諮詢"]
    out, _ = say(engine, "取消")
    assert "目前沒有進行中的服務" in out


def test_fallback_gets_firmer_and_resets(engine):
    first, replies = say(engine, "今天天氣如何")
    assert "1999" in first and replies[-1].choices
    second, _ = say(engine, "晚餐吃什麼好")
    assert "還是沒有聽懂" in second
    third, replies = say(engine, "你喜歡什麼顏色")
    assert "轉接專人" in third
    assert any(c.label == "轉真人" for c in replies[-1].choices)
    say(engine, "選單")  # the menu is a fresh start
    again, _ = say(engine, "今天天氣如何")
    assert "不太明白" in again


def test_a_location_sent_first_is_kept_by_the_service_chosen_next(engine):
    from bot.messages import Location

    user = "console:loc1"
    replies = engine.handle(
        Message(user, "console", "location", location=Location(22.6208, 120.3120, "四維三路2號"))
    )
    report = next(c for c in replies[-1].choices if c.label == "通報這裡的路面問題")
    assert len(report.data) <= 300
    out = engine.handle(Message(user, "console", "postback", text=report.text, data=report.data))
    with engine.db.session() as s:
        conv = s.get(Conversation, user)
        assert conv.flow == "dispatch_report"
        assert (conv.data["latitude"], conv.data["longitude"]) == (22.6208, 120.312)
        # The button's label (…路面問題) is not taken for the resident's choice of category.
        assert conv.step == "category" and conv.data["category"] is None
    assert [c.label for c in out[-1].choices] == ["路面坑洞", "路燈故障", "交通號誌故障", "路樹傾倒"]


def test_nearest_legal_consultation_from_a_location_sent_first(engine, monkeypatch):
    from datetime import UTC, datetime

    from bot.messages import Cards, Location, Place

    # Sunday 22:00 in Kaohsiung: no site is open, so openness does not reorder them (sites
    # open now come first, which made this test depend on the hour it ran).
    monkeypatch.setattr(engine, "clock", lambda: datetime(2026, 11, 29, 14, 0, tzinfo=UTC))
    user = "console:loc2"
    replies = engine.handle(Message(user, "console", "location", location=Location(22.6270, 120.3570)))
    legal = next(c for c in replies[-1].choices if c.label == "找最近的法律諮詢")
    out = engine.handle(Message(user, "console", "postback", text=legal.text, data=legal.data))
    shown = " ".join(
        [r.text for r in out if isinstance(r, Text)]
        + [c.title for r in out if isinstance(r, Cards) for c in r.cards]
        + [r.title for r in out if isinstance(r, Place)]
    )
    assert "鳳山區公所" in shown  # the site at that very point comes first
    assert shown.index("鳳山區公所") < shown.index("四維")


def test_every_contract_intent_has_a_service():
    from handlers import build_registry
    from intents import load_builtin_intents

    contract = {
        "legal_consultation",
        "petition_status",
        "dispatch_report",
        "proposal_cosign",
        "proposal_submit",
        "sign_language_video",
        "human_agent",
    }
    registry = build_registry()
    assert contract <= {i.id for i in load_builtin_intents()}
    for intent_id in [*contract, "faq.hotline_1999", "faq.397220000A.13"]:
        assert registry.for_intent(intent_id) is not None, intent_id


@pytest.mark.parametrize(
    ("opening", "steps", "command", "expected"),
    [
        (text, steps, command, expected)
        for text, steps in [
            ("路燈壞了", 2),
            ("我要預約法律諮詢", 2),
            ("我需要手語視訊", 1),
            ("我要提議", 0),
            ("查詢案件", 0),
        ]
        for command, expected in [("取消", "已取消"), ("主選單", "請選擇您需要的服務")]
    ],
)
def test_cancel_and_menu_deep_inside_every_flow(engine, opening, steps, command, expected):
    """Two steps into each service's flow, 取消 and 選單 still work and leave no flow behind."""
    user = f"console:deep-{abs(hash((opening, command)))}"
    replies = engine.handle(Message(user, "console", "text", text=opening))
    for _ in range(steps):
        step = next(
            (c for c in getattr(replies[-1], "choices", ()) if c.data and c.action == "postback"), None
        )
        if step is None:
            break
        replies = engine.handle(Message(user, "console", "postback", text=step.text, data=step.data))
    with engine.db.session() as s:
        assert s.get(Conversation, user).flow is not None, "the walk is inside a flow"
    out, _ = say(engine, command, user=user)
    assert expected in out
    with engine.db.session() as s:
        assert s.get(Conversation, user).flow is None


def test_answers_inside_a_flow_are_not_copied_into_the_message_log(engine):
    from sqlalchemy import select

    from bot.models import MessageLog

    say(engine, "我要預約法律諮詢", user="console:privacy")
    say(engine, "0912-345-678", user="console:privacy")  # whatever step: an answer inside the flow
    with engine.db.session() as s:
        rows = s.execute(
            select(MessageLog.text, MessageLog.normalized).where(MessageLog.user_key == "console:privacy")
        ).all()
    logged = " ".join(f"{t} {n}" for t, n in rows)
    assert "我要預約法律諮詢" in logged and "345" not in logged
