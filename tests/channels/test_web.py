"""The web chat: the page and `/api/chat` through the Flask test client and the real engine."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid

import pytest
from sqlalchemy import select

from bot.channels import web
from bot.messages import Text, reply_to_dict
from bot.models import HumanAgentRequest, OutboxMessage

# The smallest valid PNG (1x1 pixel).
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def post(client, payload, **kwargs):
    return client.post("/api/chat", json=payload, **kwargs)


def texts(response) -> str:
    return "\n".join(r["text"] for r in response.get_json()["replies"] if r["type"] == "text")


def web_user_key(client) -> str:
    with client.session_transaction() as sess:
        return f"web:{sess['web_id']}"


# --- the page ------------------------------------------------------------------------------


def test_page_is_accessible_and_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in html
    assert '<label for="message"' in html and 'id="message"' in html
    assert 'role="log"' in html and 'aria-live="polite"' in html
    # Every script and stylesheet comes from this app; nothing from a CDN or font host.
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith(("/", "#", "tel:", "data:")) for a in assets), assets
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        got = client.get(asset)
        assert got.status_code == 200, asset
        got.close()


def test_script_never_uses_inner_html():
    js = (web.STATIC_DIR / "chat.js").read_text(encoding="utf-8")
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "textContent" in js


# --- messages ---------------------------------------------------------------------------------


def test_follow_gives_the_welcome_with_service_buttons(client):
    response = post(client, {"event": "follow"})
    assert response.status_code == 200
    body = response.get_json()
    assert "citizenbot" in texts(response)
    choices = body["replies"][-1]["choices"]
    assert [c["label"] for c in choices][:3] == ["路面通報", "案件查詢", "法律諮詢"]
    assert all(c["action"] == "postback" and c["data"] for c in choices)
    # The identity cookie is signed and HttpOnly.
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_text_and_postback_reach_the_engine(client, db):
    menu = post(client, {"text": "選單"}).get_json()["replies"][-1]
    assert menu["type"] == "text" and "請選擇" in menu["text"]
    human = next(c for c in menu["choices"] if c["label"] == "轉真人")
    response = post(client, {"postback": human["data"], "display": human["text"]})
    assert response.status_code == 200
    assert "服務人員" in texts(response)
    with db.session() as s:
        request = s.scalars(select(HumanAgentRequest)).one()
        assert request.channel == "web"
        assert request.user_key == web_user_key(client)


def test_session_continues_the_conversation_and_is_per_browser(client, app, db):
    assert "服務人員" in texts(post(client, {"text": "轉真人"}))
    # The next message of the same browser continues the flow...
    assert "已記下您的說明" in texts(post(client, {"text": "我家門口的路燈壞了三天"}))
    # ...while another browser is somebody else.
    other = app.test_client()
    assert "已記下您的說明" not in texts(post(other, {"text": "我家門口的路燈壞了三天"}))
    assert web_user_key(other) != web_user_key(client)
    with db.session() as s:
        assert "路燈壞了三天" in s.scalars(select(HumanAgentRequest)).one().last_text


def test_location_and_image(client):
    response = post(
        client, {"location": {"latitude": 22.6273, "longitude": 120.3014, "address": "苓雅區四維三路2號"}}
    )
    assert response.status_code == 200 and "收到您的位置" in texts(response)
    encoded = base64.b64encode(PNG_1PX).decode()
    response = post(client, {"image": encoded})
    assert response.status_code == 200 and "收到您的照片" in texts(response)
    response = post(client, {"image": "data:image/png;base64," + encoded})
    assert response.status_code == 200
    # A photo over the usual 1 MiB body limit is still welcome (up to 5 MiB).
    photo = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(3 * 1024 * 1024)).decode()
    response = post(client, {"image": photo})
    assert response.status_code == 200 and "收到您的照片" in texts(response)


def test_engine_sees_what_the_browser_sent(client, app, monkeypatch):
    seen = []
    engine = app.extensions["citizenbot"]["engine"]
    monkeypatch.setattr(engine, "handle", lambda msg: seen.append(msg) or [Text("ok")])
    post(client, {"text": "  中正路有坑洞  "})
    post(client, {"postback": "intent=dispatch_report", "display": "路面通報"})
    post(client, {"image": base64.b64encode(PNG_1PX).decode()})
    assert [m.kind for m in seen] == ["text", "postback", "image"]
    assert seen[0].text == "中正路有坑洞" and seen[0].channel == "web"
    assert seen[1].data == "intent=dispatch_report"
    assert seen[2].image_bytes == PNG_1PX
    assert len({m.user_key for m in seen}) == 1 and seen[0].user_key.startswith("web:")


# --- bad input -----------------------------------------------------------------------------------

BIG_IMAGE = base64.b64encode(b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)).decode()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "invalid_request"),
        ({"text": "你好", "postback": "intent=human_agent"}, "invalid_request"),
        ({"txt": "你好"}, "invalid_request"),
        ({"text": 5}, "invalid_text"),
        ({"text": None}, "invalid_text"),
        ({"text": "   \n "}, "empty_text"),
        ({"text": "長" * 2001}, "text_too_long"),
        ({"postback": ""}, "invalid_postback"),
        ({"postback": ["intent=x"]}, "invalid_postback"),
        ({"postback": "x" * 301}, "invalid_postback"),
        ({"postback": "intent=human_agent", "display": 3}, "invalid_postback"),
        ({"location": "22.6,120.3"}, "invalid_location"),
        ({"location": {"latitude": 91, "longitude": 120}}, "invalid_location"),
        ({"location": {"latitude": True, "longitude": 120}}, "invalid_location"),
        ({"location": {"latitude": "22.6", "longitude": 120}}, "invalid_location"),
        ({"location": {"latitude": 22.6, "longitude": 120.3, "address": 7}}, "invalid_location"),
        ({"image": "這不是 base64!"}, "invalid_image"),
        ({"image": "abc"}, "invalid_image"),
        ({"image": ""}, "invalid_image"),
        ({"image": base64.b64encode(b"hello, not a picture").decode()}, "invalid_image"),
        ({"image": BIG_IMAGE}, "image_too_large"),
        ({"event": "unfollow"}, "invalid_event"),
    ],
)
def test_bad_messages_get_a_400_in_zh_tw(client, payload, code):
    response = post(client, payload)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert error["code"] == code
    assert CJK.search(error["message"])


@pytest.mark.parametrize(
    ("data", "content_type", "code"),
    [
        ("你好", "text/plain", "unsupported_media_type"),
        ("text=你好", "application/x-www-form-urlencoded", "unsupported_media_type"),
        ('{"text": "你好"', "application/json", "invalid_json"),
        (b'{"text": "\xff"}', "application/json", "invalid_json"),
        ('["你好"]', "application/json", "invalid_json"),
        ("", "application/json", "invalid_json"),
    ],
)
def test_bodies_that_are_not_a_json_object(client, data, content_type, code):
    response = client.post("/api/chat", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_bodies_over_one_mebibyte_get_413_json(client):
    # A text body over 1 MiB is refused even though images may be larger.
    response = client.post(
        "/api/chat", data=json.dumps({"text": "a" * (1024 * 1024)}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    # Over the image limit: refused before it is read.
    huge = json.dumps({"image": "A" * (web.IMAGE_BODY_LIMIT + 10)})
    response = client.post("/api/chat", data=huge, content_type="application/json")
    assert response.status_code == 413
    assert CJK.search(response.get_json()["error"]["message"])
    # The app-wide limit still holds elsewhere, and the chat keeps working afterwards.
    assert "服務人員" in texts(post(client, {"text": "轉真人"}))


def test_polite_rate_limit(app, client):
    app.config["WEB_CHAT_RATE_LIMIT"] = (3, 60)
    for _ in range(3):
        assert post(client, {"text": "選單"}).status_code == 200
    response = post(client, {"text": "選單"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert CJK.search(response.get_json()["error"]["message"])
    # Another resident is not affected.
    assert post(app.test_client(), {"text": "選單"}).status_code == 200


def test_engine_failure_is_a_json_500_not_a_traceback(client, app, monkeypatch):
    def broken(msg):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.extensions["citizenbot"]["engine"], "handle", broken)
    response = post(client, {"text": "你好"})
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "boom" not in response.get_data(as_text=True)


# --- notifications for the web user ------------------------------------------------------------


def queue(db, to, text, channel="web", status="pending"):
    with db.session() as s:
        s.add(
            OutboxMessage(
                channel=channel,
                kind="push",
                to=to,
                messages=[reply_to_dict(Text(text))],
                retry_key=str(uuid.uuid4()),
                status=status,
            )
        )


def test_pending_notifications_are_delivered_exactly_once(client, app, db):
    assert client.get("/api/chat/updates").get_json() == {"replies": []}  # no session yet
    post(client, {"event": "follow"})
    me = web_user_key(client)
    queue(db, me, "服務人員回覆：路燈已派工修復。")
    queue(db, me, "第二則通知")
    queue(db, "web:someone-else-entirely", "別人的通知")
    queue(db, me, "LINE 的通知", channel="line")
    queue(db, me, "已送過的通知", status="sent")

    first = client.get("/api/chat/updates")
    assert first.status_code == 200
    assert [r["text"] for r in first.get_json()["replies"]] == [
        "服務人員回覆：路燈已派工修復。",
        "第二則通知",
    ]
    assert client.get("/api/chat/updates").get_json() == {"replies": []}

    # A notification queued later comes first in the next chat answer, once.
    queue(db, me, "第三則通知")
    replies = post(client, {"text": "選單"}).get_json()["replies"]
    assert replies[0]["text"] == "第三則通知"
    assert "請選擇" in replies[1]["text"]
    replies = post(client, {"text": "選單"}).get_json()["replies"]
    assert len(replies) == 1 and "請選擇" in replies[0]["text"]

    with db.session() as s:
        rows = {r.messages[0]["text"]: r for r in s.scalars(select(OutboxMessage))}
        assert {t for t, r in rows.items() if r.status == "sent"} == {
            "服務人員回覆：路燈已派工修復。",
            "第二則通知",
            "第三則通知",
            "已送過的通知",
        }
        assert rows["別人的通知"].status == "pending" and rows["LINE 的通知"].status == "pending"
        assert rows["第三則通知"].sent_at is not None


def test_a_malformed_notification_is_set_aside(client, db):
    post(client, {"event": "follow"})
    me = web_user_key(client)
    with db.session() as s:
        s.add(
            OutboxMessage(channel="web", kind="push", to=me, messages=[{"type": "video"}], retry_key="bad-1")
        )
    queue(db, me, "正常的通知")
    response = client.get("/api/chat/updates")
    assert response.status_code == 200
    assert [r["text"] for r in response.get_json()["replies"]] == ["正常的通知"]
    with db.session() as s:
        assert (
            s.scalars(select(OutboxMessage).where(OutboxMessage.retry_key == "bad-1")).one().status
            == "failed"
        )


def test_a_handler_notification_reaches_the_web_user(client, db):
    """ctx.notify → outbox row → the resident's next poll (the path staff answers take)."""
    from bot import outbox

    post(client, {"event": "follow"})
    me = web_user_key(client)
    with db.session() as s:
        outbox.notify(s, me, [Text("您的案件已派工。", ())])
    replies = client.get("/api/chat/updates").get_json()["replies"]
    assert [r["text"] for r in replies] == ["您的案件已派工。"]
    assert client.get("/api/chat/updates").get_json()["replies"] == []


def test_two_tabs_polling_at_once_split_the_notifications(client, app, db):
    """Each pending notification goes to exactly one of several simultaneous polls."""
    post(client, {"event": "follow"})
    me = web_user_key(client)
    for i in range(30):
        queue(db, me, f"通知 {i}")
    with client.session_transaction() as sess:
        web_id = sess["web_id"]
    tabs = []
    for _ in range(6):
        tab = app.test_client()
        with tab.session_transaction() as sess:
            sess["web_id"] = web_id
        tabs.append(tab)
    got: list[str] = []
    errors: list[int] = []
    barrier = threading.Barrier(len(tabs))

    def poll(tab):
        barrier.wait()
        for _ in range(3):
            response = tab.get("/api/chat/updates")
            if response.status_code != 200:
                errors.append(response.status_code)
                continue
            got.extend(r["text"] for r in response.get_json()["replies"])

    threads = [threading.Thread(target=poll, args=(tab,)) for tab in tabs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(got) == sorted(f"通知 {i}" for i in range(30))
