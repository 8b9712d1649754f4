"""The whole booking flow over the signed LINE webhook, with the fake LINE API and pushes."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot import legal
from bot.models import LegalBooking
from tests.conftest import post_webhook

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=legal.TZ).astimezone(UTC)  # Monday 10:00 Taipei
_ids = itertools.count()


class Line:
    """One LINE user talking to the app through signed webhooks."""

    def __init__(self, client, svc, fake, user="U1"):
        self.client, self.svc, self.fake, self.user = client, svc, fake, user

    def _send(self, event: dict) -> list[dict]:
        n = next(_ids)
        event.update(
            {
                "mode": "active",
                "timestamp": 1700000000000,
                "source": {"type": "user", "userId": self.user},
                "webhookEventId": f"01LEGAL{n:06d}",
                "deliveryContext": {"isRedelivery": False},
                "replyToken": f"tok-{n}",
            }
        )
        response = post_webhook(self.client, {"destination": "Ubot", "events": [event]})
        assert response.status_code == 200
        self.svc["delivery"].deliver_due()
        sent = [r for r in self.fake.replies if r["replyToken"] == f"tok-{n}"]
        assert sent, "no reply delivered"
        return sent[0]["messages"]

    def say(self, text):
        return self._send(
            {"type": "message", "message": {"type": "text", "id": "1", "text": text, "quoteToken": "q"}}
        )

    def tap(self, messages, label):
        """Tap a quick reply (postback or message) or a Flex button with this label."""
        for action in actions(messages):
            if action.get("label") == label:
                if action["type"] == "postback":
                    return self._send({"type": "postback", "postback": {"data": action["data"]}})
                return self.say(action["text"])
        raise AssertionError(f"no button {label!r} in {[a.get('label') for a in actions(messages)]}")

    def location(self, lat, lng):
        return self._send(
            {
                "type": "message",
                "message": {"type": "location", "id": "2", "latitude": lat, "longitude": lng, "address": "x"},
            }
        )


def actions(messages):
    out = []
    for m in messages:
        out += [i["action"] for i in (m.get("quickReply") or {}).get("items", [])]
        out += _flex_actions(m.get("contents"))
    return out


def _flex_actions(node):
    found = []
    if isinstance(node, dict):
        if node.get("type") == "button" and "action" in node:
            found.append(node["action"])
        for v in node.values():
            found += _flex_actions(v)
    elif isinstance(node, list):
        for v in node:
            found += _flex_actions(v)
    return found


def text(messages):
    return "\n".join(m.get("text", "") for m in messages)


@pytest.fixture
def svc(line_app):
    svc = line_app.extensions["citizenbot"]
    svc["engine"].clock = lambda: NOW
    return svc


@pytest.fixture
def line(line_app, svc, fake_line):
    return Line(line_app.test_client(), svc, fake_line)


def test_whole_booking_flow_over_the_webhook(line, svc, fake_line):
    out = line.say("我想預約法律諮詢")
    assert "要預約哪個地點" in text(out)
    assert len(out[-1]["quickReply"]["items"]) <= 13
    out = line.tap(out, "四維行政中心")
    assert "請選擇日期" in text(out)
    labels = [a["label"] for a in actions(out)]
    assert labels[0] == "11/30（一）" and "12/2（三）" in labels and "12/5（六）" not in labels
    out = line.tap(out, "12/2（三）")
    assert "尚有 32 個時段" in text(out)
    items = out[-1]["quickReply"]["items"]
    assert len(items) == 13 and all(len(i["action"]["label"]) <= 20 for i in items)
    out = line.tap(out, "更多時段")
    out = line.tap(out, "更多時段")
    assert "19:45" in [a["label"] for a in actions(out)]
    out = line.tap(out, "19:45")
    assert "請輸入預約人的姓名" in text(out)
    out = line.say("王小明")
    out = line.say("0912 345 67")  # one digit short
    assert "不是有效的電話號碼" in text(out)
    out = line.say("+886 912-345-678")
    assert "想諮詢哪方面" in text(out)
    out = line.say("公司積欠加班費，想問勞資爭議怎麼處理")
    assert "請確認預約資料" in text(out) and "0912-345-678" in text(out) and "12/2（三） 19:45" in text(out)
    out = line.tap(out, "確認預約")
    assert "預約完成" in text(out) and "勞工局" in text(out)
    with svc["db"].session() as s:
        b = s.scalars(select(LegalBooking)).one()
        assert (b.site_id, b.date, b.slot_start, b.phone, b.topic_kind, b.user_key) == (
            "siwei",
            date(2026, 12, 2),
            "19:45",
            "0912-345-678",
            "labour",
            "line:U1",
        )
    # My bookings, then cancel.
    out = line.say("我的法律諮詢預約")
    assert f"L{b.id}" in text(out)
    out = line.tap(out, f"取消 L{b.id}")
    assert "已取消預約" in text(out)
    with svc["db"].session() as s:
        assert s.get(LegalBooking, b.id).status == "cancelled"

    # The reminder the day before and a blocked date both arrive as pushes.
    out = line.say("預約法律諮詢")
    out = line.tap(out, "鳳山區公所")
    out = line.tap(out, "12/1（二）")
    out = line.tap(out, "14:00")
    line.say("王小明")
    line.say("07-7422111#220")
    out = line.say("略過")
    out = line.tap(out, "確認預約")
    assert "預約完成" in text(out)
    with svc["db"].session() as s:
        legal.send_reminders(s, NOW)
    svc["delivery"].deliver_due()
    assert (
        fake_line.pushes[-1]["to"] == "U1" and "法律諮詢提醒" in fake_line.pushes[-1]["messages"][0]["text"]
    )
    with svc["db"].session() as s:
        legal.block_date(s, date(2026, 12, 1), "fengshan", "颱風停班", NOW)
    svc["delivery"].deliver_due()
    assert "颱風停班" in fake_line.pushes[-1]["messages"][0]["text"]


def test_slot_taken_meanwhile_and_full_day(line, svc, fake_line, line_app):
    out = line.say("預約法律諮詢")
    out = line.tap(out, "林園區公所")
    out = line.tap(out, "12/7（一）")
    out = line.tap(out, "09:00")
    line.say("王小明")
    line.say("0912345678")
    out = line.say("車禍")
    # Someone else takes 09:00 while U1 is confirming.
    with svc["db"].session() as s:
        legal.book(
            s,
            user_key="line:U9",
            site_id="linyuan",
            day=date(2026, 12, 7),
            slot="09:00",
            name="x",
            phone="0911111111",
            topic=None,
            now=NOW,
        )
    out = line.tap(out, "確認預約")
    assert "剛剛被其他人預約" in text(out) and "09:15" in [a["label"] for a in actions(out)]
    # Fill the whole day: the date no longer offered, and typing it says it is full.
    with svc["db"].session() as s:
        for i, slot in enumerate(legal.all_slots(legal.get_site("linyuan"), date(2026, 12, 7))):
            if slot != "09:00":
                legal.book(
                    s,
                    user_key=f"line:F{i}",
                    site_id="linyuan",
                    day=date(2026, 12, 7),
                    slot=slot,
                    name="x",
                    phone="0911111111",
                    topic=None,
                    now=NOW,
                )
    out = line.say("預約法律諮詢")
    out = line.tap(out, "林園區公所")
    assert "12/7（一）" not in [a["label"] for a in actions(out)]
    out = line.say("12/7")
    assert "額滿" in text(out)
    out = line.say("11/23")
    assert "已經過了" in text(out)


def test_answers_today_site_and_nearest(line):
    out = line.say("今天哪裡有法律諮詢")
    assert "四維行政中心" in text(out) and "林園區公所" in text(out) and "旗津" not in text(out)
    out = line.say("週三晚上法律諮詢")
    assert "18:00-20:00" in text(out) and "鳳山" not in text(out)
    with line.svc["db"].session() as s:
        legal.block_date(s, date(2026, 12, 2), None, "颱風停班", NOW)
    out = line.say("12/2 有法律諮詢嗎")
    assert "暫停" in text(out) and "颱風停班" in text(out)
    out = line.say("預約法律諮詢")
    out = line.tap(out, "旗津區公所")  # open only on Wednesdays
    assert "12/2（三）" not in [a["label"] for a in actions(out)]
    out = line.say("12/2")
    assert "暫停諮詢（颱風停班）" in text(out)
    out = line.say("離婚想問律師")
    assert "婚姻家事" in text(out) and "113" in text(out)
    out = line.say("鳳山法律諮詢")
    assert any(m["type"] == "flex" for m in out) and any(m["type"] == "location" for m in out)
    out = line.say("離我最近的法律諮詢")
    assert "傳送位置" in [a.get("label") for a in actions(out)]
    out = line.location(25.0330, 121.5654)  # Taipei 101
    assert "不在高雄市內" in text(out)
    out = line.say("離我最近的法律諮詢")
    out = line.location(22.6268, 120.3563)  # 鳳山火車站
    assert "1. 四維行政中心" in text(out) or "1. 鳳山區公所" in text(out)
    assert "公里" in text(out)


def test_location_after_the_overview_buttons(line):
    out = line.say("法律諮詢")
    assert "離我最近" in [a.get("label") for a in actions(out)]
    out = line.location(22.7917, 120.3003)  # 岡山火車站, shared with the button
    assert "1. 岡山區公所" in text(out)
    out = line.say("今天哪裡有法律諮詢")
    out = line.say("謝謝你喔")  # something else: no trap
    assert "不太明白" in text(out)
    out = line.say("謝謝你喔")
    assert "傳送位置" not in text(out)


def test_another_citys_legal_consultation_is_answered_as_such(line):
    # Not Kaohsiung's FAQ entry and not "I don't understand": whose service it is, and ours.
    out = line.say("請問台中市政府的免費法律諮詢在哪裡")
    assert "只在高雄市" in text(out) and "412-8518" in text(out)
    out = line.tap(out, "所有地點")
    assert "四維行政中心" in json.dumps(out, ensure_ascii=False)
    # Naming Kaohsiung as well keeps it ours.
    out = line.say("我住台中 想去高雄的免費法律諮詢")
    assert "只在高雄市" not in text(out) and "四維行政中心" in text(out)
