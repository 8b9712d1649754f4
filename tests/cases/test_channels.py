"""The whole report flow over the signed LINE webhook (fake LINE API) and over /api/chat."""

from __future__ import annotations

import base64
import itertools

from sqlalchemy import select

from bot.models import Case, CasePhoto
from tests.conftest import STAFF_TOKEN, post_webhook

from .conftest import CITY_HALL, JPEG, PNG

_ids = itertools.count(1)


def event(user: str, message: dict | None = None, postback: str | None = None) -> dict:
    n = next(_ids)
    raw = {
        "mode": "active",
        "timestamp": 1700000000000 + n,
        "source": {"type": "user", "userId": user},
        "webhookEventId": f"01CASES{n:020d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"reply-token-{n}",
    }
    if postback is not None:
        raw.update(type="postback", postback={"data": postback})
    else:
        raw.update(type="message", message={"quoteToken": "q", "id": str(900000 + n), **(message or {})})
    return raw


class LineUser:
    def __init__(self, client, svc, fake, user="Ucases0001"):
        self.client, self.svc, self.fake, self.user = client, svc, fake, user

    def send(self, **kw) -> list[dict]:
        before = len(self.fake.replies)
        r = post_webhook(self.client, {"destination": "Ubot", "events": [event(self.user, **kw)]})
        assert r.status_code == 200
        self.svc["delivery"].deliver_due()
        assert self.fake.wait_for(lambda f: len(f.replies) > before)
        return self.fake.replies[-1]["messages"]

    @staticmethod
    def text(messages) -> str:
        return "\n".join(m.get("text", "") for m in messages)

    @staticmethod
    def quick(messages, label) -> dict:
        items = messages[-1]["quickReply"]["items"]
        for item in items:
            if item["action"].get("label") == label:
                return item["action"]
        raise AssertionError([i["action"].get("label") for i in items])


def test_report_over_the_line_webhook(line_app, fake_line):
    svc = line_app.extensions["citizenbot"]
    u = LineUser(line_app.test_client(), svc, fake_line)
    out = u.send(message={"type": "text", "text": "我要通報路面坑洞"})
    assert "位置" in u.text(out)
    assert u.quick(out, "傳送位置")["type"] == "location"
    out = u.send(
        message={"type": "location", "title": "市政府", "address": "802高雄市苓雅區四維三路2號",
                 "latitude": CITY_HALL[0], "longitude": CITY_HALL[1]},
    )  # fmt: skip
    assert u.quick(out, "拍照")["type"] == "camera" and u.quick(out, "從相簿選")["type"] == "cameraRoll"
    # The first download fails (content API 500): the resident is told and the flow waits.
    fake_line.fail("content", "500", times=1)
    fake_line.add_content("IMG-A", JPEG, "image/jpeg")
    out = u.send(message={"type": "image", "id": "IMG-A", "contentProvider": {"type": "line"}})
    assert "無法下載" in u.text(out)
    out = u.send(message={"type": "image", "id": "IMG-A", "contentProvider": {"type": "line"}})
    assert "已收到照片" in u.text(out)
    out = u.send(message={"type": "text", "text": "機車道上的大坑洞"})
    assert "請確認通報內容" in u.text(out)
    out = u.send(postback=u.quick(out, "確認送出")["data"])
    text = u.text(out)
    assert "已受理您的通報" in text and "驗證碼" in text
    with svc["db"].session() as s:
        case = s.scalars(select(Case)).one()
        assert case.number in text and case.reporter_key == "line:Ucases0001" and case.source == "line"
        assert s.scalars(select(CasePhoto)).one().case_id == case.id
        number = case.number
    # A staff update reaches the resident as a push.
    r = line_app.test_client().post(
        f"/api/staff/cases/{number}", json={"status": "done", "note": "已修補完成"},
        headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
    )  # fmt: skip
    assert r.status_code == 200
    svc["delivery"].deliver_due()
    assert fake_line.wait_for(lambda f: any(p["to"] == "Ucases0001" for p in f.pushes))
    push = [p for p in fake_line.pushes if p["to"] == "Ucases0001"]
    assert len(push) == 1 and "已完成" in push[0]["messages"][0]["text"]
    # And the resident sees it when asking.
    out = u.send(message={"type": "text", "text": "查詢我的案件"})
    assert number in u.text(out) and "已修補完成" in u.text(out)


def test_report_over_the_web_chat(client, db):
    def post(payload):
        r = client.post("/api/chat", json=payload)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["replies"]

    def text(replies):
        return "\n".join(r.get("text", "") for r in replies)

    def choice(replies, label):
        for c in replies[-1]["choices"]:
            if c["label"] == label:
                return c
        raise AssertionError([c["label"] for c in replies[-1]["choices"]])

    out = post({"text": "路燈不亮"})
    assert "位置" in text(out)
    out = post({"location": {"latitude": CITY_HALL[0], "longitude": CITY_HALL[1]}})
    assert "照片" in text(out)
    out = post({"image": base64.b64encode(PNG).decode()})
    assert "已收到照片" in text(out)
    out = post({"postback": choice(out, "略過")["data"], "display": "略過"})
    assert "請確認通報內容" in text(out)
    out = post({"postback": choice(out, "確認送出")["data"]})
    assert "已受理您的通報" in text(out)
    with db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.category == "streetlight" and case.source == "web" and case.number in text(out)
