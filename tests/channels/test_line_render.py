"""Replies -> LINE JSON within LINE's limits, validated by the SDK's own models."""

from __future__ import annotations

import pytest
from linebot.v3.messaging import FlexMessage, LocationMessage, TextMessage
from linebot.v3.messaging import Message as SdkMessage

from bot.channels.line_render import to_line_messages
from bot.messages import Card, Cards, Choice, Place, Text
from tests.fakeline import FakeLine


def valid(messages):
    """Every message parses with the SDK and passes the fake server's LINE checks."""
    assert 1 <= len(messages) <= 5
    for m in messages:
        SdkMessage.from_dict(m)
    assert FakeLine._invalid_messages(messages) is None
    return messages


def test_text_with_choices_becomes_text_and_quick_reply():
    choices = (
        Choice("路面通報", text="路面通報", data="intent=dispatch_report", action="postback"),
        Choice("選單", text="選單"),
        Choice("傳送位置", action="location"),
        Choice("拍照", action="camera"),
        Choice("相簿", action="camera_roll"),
        Choice("撥打 1999", action="uri", uri="tel:1999"),
    )
    [message] = valid(to_line_messages([Text("您好", choices)]))
    parsed = TextMessage.from_dict(message)
    assert parsed.text == "您好"
    actions = [item["action"] for item in message["quickReply"]["items"]]
    assert [a["type"] for a in actions] == ["postback", "message", "location", "camera", "cameraRoll", "uri"]
    assert actions[0] == {
        "type": "postback",
        "label": "路面通報",
        "data": "intent=dispatch_report",
        "displayText": "路面通報",
    }
    assert actions[1]["text"] == "選單"
    assert actions[5]["uri"] == "tel:1999"


def test_long_text_is_split_within_5000_characters():
    lines = [f"第{i}行" + "字" * 95 for i in range(120)]  # about 12,000 characters
    text = "\n".join(lines)
    messages = valid(to_line_messages([Text(text)]))
    assert len(messages) == 3
    assert all(len(m["text"]) <= 5000 for m in messages)
    # Cut at line ends: nothing lost, nothing doubled.
    assert "\n".join(m["text"] for m in messages) == text


def test_at_most_five_messages_with_quick_replies_on_the_last():
    replies = [Text(f"第{i}段") for i in range(8)]
    replies[-1] = Text("最後", (Choice("選單", text="選單"),))
    messages = valid(to_line_messages(replies))
    assert len(messages) <= 5
    joined = "\n\n".join(m["text"] for m in messages)
    for i in range(7):
        assert f"第{i}段" in joined  # merged, not dropped
    assert "quickReply" in messages[-1]
    assert all("quickReply" not in m for m in messages[:-1])


def test_too_much_content_is_trimmed_with_a_note():
    replies = [Text(str(i) * 4500) for i in range(7)]
    messages = valid(to_line_messages(replies))
    assert len(messages) == 5
    assert "已省略" in messages[-1]["text"]


def test_quick_reply_count_labels_and_postback_limits():
    choices = [Choice(f"選項{i}號" + "很長的標籤文字" * 3, text=f"t{i}") for i in range(20)]
    choices.insert(0, Choice("太長", data="x=" + "a" * 400, action="postback"))
    [message] = valid(to_line_messages([Text("請選擇", tuple(choices))]))
    items = message["quickReply"]["items"]
    assert len(items) == 13
    assert all(len(i["action"]["label"]) <= 20 for i in items)
    # The postback that cannot fit 300 characters is left out rather than cut into nonsense.
    assert all(i["action"]["type"] == "message" for i in items)


def test_cards_become_flex_carousels_of_at_most_12_bubbles():
    cards = tuple(
        Card(
            title=f"提案 {i}",
            body="內容" * 50,
            buttons=(
                Choice("附議", text="附議", data=f"cosign={i}", action="postback"),
                Choice("看詳細", action="uri", uri=f"https://example.org/p/{i}"),
                Choice("拍照", action="camera"),
            ),
            image_url="https://example.org/a.jpg" if i == 0 else None,
        )
        for i in range(15)
    )
    messages = valid(to_line_messages([Cards("提案列表" * 200, cards, (Choice("選單", text="選單"),))]))
    assert [len(m["contents"]["contents"]) for m in messages] == [12, 3]
    for m in messages:
        flex = FlexMessage.from_dict(m)
        assert len(flex.alt_text) <= 400
    first = messages[0]["contents"]["contents"][0]
    assert first["hero"]["url"] == "https://example.org/a.jpg"
    buttons = [b["action"] for b in first["footer"]["contents"]]
    assert buttons[0] == {"type": "postback", "label": "附議", "data": "cosign=0", "displayText": "附議"}
    assert buttons[1]["type"] == "uri"
    # Camera pickers exist only in quick replies: in a card the button sends its label.
    assert buttons[2] == {"type": "message", "label": "拍照", "text": "拍照"}
    assert "quickReply" in messages[-1] and "quickReply" not in messages[0]


def test_place_becomes_a_location_message_within_limits():
    place = Place(
        "高雄市政府" * 30, "苓雅區四維三路2號" * 20, 22.6203, 120.3120, (Choice("選單", text="選單"),)
    )
    [message] = valid(to_line_messages([Place("x", "y", 1, 2), place])[1:])
    loc = LocationMessage.from_dict(message)
    assert len(loc.title) <= 100 and len(loc.address) <= 100
    assert (loc.latitude, loc.longitude) == (22.6203, 120.3120)
    assert message["quickReply"]["items"][0]["action"]["text"] == "選單"


def test_choices_of_an_earlier_reply_move_to_the_last_message():
    replies = [Text("請看地點", (Choice("選單", text="選單"),)), Place("市府", "四維三路2號", 22.6, 120.3)]
    messages = valid(to_line_messages(replies))
    assert "quickReply" not in messages[0]
    assert messages[-1]["type"] == "location" and messages[-1]["quickReply"]["items"]


def test_empty_text_with_choices_still_has_words():
    [message] = valid(to_line_messages([Text("", (Choice("選單", text="選單"),))]))
    assert message["text"].strip()
    assert to_line_messages([Text("   ")]) == []


@pytest.mark.parametrize(
    "reply_factory", ["welcome", "menu", "sticker_nudge", "unsupported_media", "fallback"]
)
def test_every_menu_reply_is_valid_line(reply_factory):
    from handlers import menu

    fn = getattr(menu, reply_factory)
    replies = fn(3) if reply_factory == "fallback" else fn()
    valid(to_line_messages(replies))
