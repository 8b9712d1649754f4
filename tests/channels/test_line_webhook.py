"""POST /callback: real HMAC signatures, the SDK's recorded events, the fake LINE server."""

from __future__ import annotations

import copy
import json
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.channels.line_render import to_line_messages
from bot.models import Conversation, MessageLog, OutboxMessage, ProcessedEvent
from handlers import menu
from tests.conftest import CHANNEL_SECRET, post_webhook, shared_path, sign_body


def text_event(text="選單", user="U1", event_id="E1", token="T1", redelivery=False, source=None):
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1700000000000,
        "source": source or {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": token,
        "message": {"type": "text", "id": "325708", "text": text, "quoteToken": "q"},
    }


def counts(db):
    with db.session() as s:
        return {
            "processed": s.scalar(select(func.count()).select_from(ProcessedEvent)),
            "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)),
            "log": s.scalar(select(func.count()).select_from(MessageLog)),
            "conversations": s.scalar(select(func.count()).select_from(Conversation)),
        }


@pytest.fixture
def svc(line_app):
    return line_app.extensions["citizenbot"]


@pytest.fixture
def client(line_app):
    return line_app.test_client()


def texts(messages):
    return "\n".join(m.get("text", "") for m in messages)


# --- the SDK's recorded events ------------------------------------------------------------


def test_sdk_fixture_events_replayed(client, svc, fake_line):
    events = json.loads(shared_path("fixtures", "line", "sdk-webhook-events.json").read_text())["events"]
    assert len(events) == 28
    for i, event in enumerate(events):
        event = copy.deepcopy(event)
        event["webhookEventId"] = f"01FIXTURE{i:04d}"
        if "replyToken" in event:
            event["replyToken"] = f"token-{i:02d}"
        response = post_webhook(client, {"destination": "Uxxx", "events": [event]})
        assert response.status_code == 200, (i, event["type"], response.get_json())
    assert svc["delivery"].deliver_due() > 0

    replies = {r["replyToken"]: r["messages"] for r in fake_line.replies}
    assert fake_line.pushes == []  # every reply went out with its token
    by_index = {int(t.split("-")[1]): m for t, m in replies.items()}
    types = {i: (e["type"], (e.get("message") or {}).get("type")) for i, e in enumerate(events)}

    # Those that must answer: one-to-one messages and postbacks, follow, and join.
    answered = {
        i
        for i, (t, _) in types.items()
        if (t in ("message", "postback", "follow") and events[i]["source"]["type"] == "user") or t == "join"
    }
    assert set(by_index) == answered
    assert "Hello" not in texts(by_index[0])  # an answer, not an echo
    assert by_index[6] == to_line_messages(menu.welcome())
    assert "citizenbot" in texts(by_index[6])
    assert by_index[5] == to_line_messages(menu.sticker_nudge())
    for i, (_, mtype) in types.items():
        if mtype in ("video", "audio", "file"):
            assert by_index[i] == to_line_messages(menu.unsupported_media()), i
    assert by_index[24] == to_line_messages(menu.image_without_flow())
    # Events with a reply token that need no answer get none (beacon, accountLink, ...), and
    # in a group or room the bot answers only when @mentioned: the members talk among themselves.
    for i, (t, _) in types.items():
        if t in ("beacon", "accountLink", "memberJoined", "videoPlayComplete", "messageEdited"):
            assert f"token-{i:02d}" not in replies
    for i in (1, 14, 15):  # an image in a room, texts in a group and a room: no mention
        assert f"token-{i:02d}" not in replies
    assert by_index[8] == to_line_messages(menu.welcome())  # joining a group: introduce itself

    with svc["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedEvent)) == 28
        rows = {r.reply_token: r for r in s.scalars(select(OutboxMessage))}
        assert all(r.status == "sent" and r.kind == "reply" for r in rows.values())
        # The welcome on joining goes to the group itself.
        assert rows["token-08"].to == "Ca56f94637cc4347f90a25382909b24b9"
        keys = set(s.scalars(select(Conversation.user_key)))
        assert "line:U206d25c2ea6bd87c17655609a1c37cb8" in keys


def test_in_a_group_a_mention_is_answered_in_the_group(client, svc, fake_line):
    event = text_event("@citizenbot 選單", user="U-member", event_id="E-group", token="T-group")
    event["source"] = {"type": "group", "groupId": "C-group", "userId": "U-member"}
    event["message"]["mention"] = {"mentionees": [{"index": 0, "length": 11, "type": "user", "isSelf": True}]}
    other = text_event("晚上吃什麼", user="U-member", event_id="E-chat", token="T-chat")
    other["source"] = event["source"]
    assert post_webhook(client, {"events": [event, other]}).status_code == 200
    svc["delivery"].deliver_due()
    assert [r["replyToken"] for r in fake_line.replies] == ["T-group"]
    assert "請選擇您需要的服務" in texts(fake_line.replies[0]["messages"])  # the mention was stripped
    with svc["db"].session() as s:
        assert s.scalar(select(OutboxMessage.to)) == "C-group"
        assert set(s.scalars(select(Conversation.user_key))) == {"line:U-member"}


def test_whole_fixture_body_in_one_request(client, svc, fake_line):
    payload = json.loads(shared_path("fixtures", "line", "sdk-webhook-events.json").read_text())
    for i, event in enumerate(payload["events"]):
        event["webhookEventId"] = f"01BODY{i:04d}"
    assert post_webhook(client, payload).status_code == 200
    assert counts(svc["db"])["processed"] == 28
    svc["delivery"].deliver_due()
    answering = [
        e
        for e in payload["events"]
        if (e["type"] in ("message", "postback", "follow") and e["source"]["type"] == "user")
        or (e["type"] == "join")
    ]
    tokens = {e["replyToken"] for e in answering}
    # The recorded events share reply tokens: LINE accepts each token once, the
    # other answers fall back to push to their user, group or room. None is lost.
    assert len(fake_line.replies) == len(tokens)
    assert len(fake_line.pushes) == len(answering) - len(tokens)
    with svc["db"].session() as s:
        statuses = [r.status for r in s.scalars(select(OutboxMessage))]
    assert statuses and all(st == "sent" for st in statuses)


# --- rejected requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    ["", "not-a-signature", sign_body(b'{"events": []}'), sign_body(b"x", secret="another-secret")],
    ids=["missing", "garbage", "other-body", "other-secret"],
)
def test_bad_signatures_are_rejected_and_nothing_happens(client, svc, fake_line, signature):
    body = json.dumps({"events": [text_event()]}).encode()
    if signature == "":
        response = client.post("/callback", data=body, headers={"Content-Type": "application/json"})
    else:
        response = post_webhook(client, body, signature=signature)
    assert response.status_code == 400
    assert "signature" in response.get_json()["error"].lower()
    assert counts(svc["db"]) == {"processed": 0, "outbox": 0, "log": 0, "conversations": 0}
    svc["delivery"].deliver_due()
    assert fake_line.calls == []


def test_signature_header_is_read_case_insensitively(client, svc):
    body = json.dumps({"events": [text_event()]}).encode()
    response = client.post("/callback", data=body, headers={"x-line-signature": sign_body(body)})
    assert response.status_code == 200
    assert counts(svc["db"])["processed"] == 1


def test_a_body_changed_after_signing_is_rejected(client, svc):
    body = json.dumps({"events": [text_event("選單")]}, ensure_ascii=False).encode()
    tampered = body.replace("選單".encode(), "取消".encode())
    assert tampered != body
    response = post_webhook(client, tampered, signature=sign_body(body))
    assert response.status_code == 400
    assert counts(svc["db"])["processed"] == 0


def test_no_channel_secret_answers_503(make_app):
    app = make_app(line_channel_secret=None)
    response = post_webhook(app.test_client(), {"events": []})
    assert response.status_code == 503
    assert response.is_json


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe not utf-8",
        b"[]",
        b'{"events": "nope"}',
        b'{"destination": "U1"}',
        json.dumps({"events": [42]}).encode(),
        json.dumps({"events": [{"no": "type"}]}).encode(),
    ],
    ids=["malformed", "not-utf8", "array", "events-not-list", "no-events", "event-not-object", "no-type"],
)
def test_malformed_bodies_answer_400(client, svc, body):
    response = post_webhook(client, body)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]
    assert counts(svc["db"])["processed"] == 0


def test_schema_invalid_events_answer_400_and_nothing_is_processed(client, svc):
    broken = text_event(event_id="E2", token="T2")
    del broken["message"]["id"]
    del broken["message"]["text"]
    response = post_webhook(client, {"events": [text_event(), broken]})
    assert response.status_code == 400
    assert counts(svc["db"]) == {"processed": 0, "outbox": 0, "log": 0, "conversations": 0}
    wrong_source = text_event(source={"type": "user", "userId": 12})
    wrong_source["timestamp"] = "yesterday"
    assert post_webhook(client, {"events": [wrong_source]}).status_code == 400


def test_oversized_body_answers_413_as_json(client, svc):
    event = text_event("字" * 10)
    payload = {"events": [event], "padding": "x" * (1024 * 1024 + 10)}
    response = post_webhook(client, payload)
    assert response.status_code == 413
    assert response.is_json and "too large" in response.get_json()["error"]
    assert counts(svc["db"])["processed"] == 0


def test_empty_events_answer_200(client, svc, fake_line):
    response = post_webhook(client, {"destination": "U0", "events": []})
    assert response.status_code == 200
    assert counts(svc["db"]) == {"processed": 0, "outbox": 0, "log": 0, "conversations": 0}


def test_unknown_event_and_message_types_are_accepted(client, svc, fake_line):
    future = {
        "type": "somethingNew",
        "timestamp": 1,
        "webhookEventId": "E9",
        "source": {"type": "user", "userId": "U1"},
    }
    hologram = text_event(event_id="E10", token="T10")
    hologram["message"] = {"type": "hologram", "id": "1"}
    response = post_webhook(client, {"events": [future, hologram]})
    assert response.status_code == 200
    svc["delivery"].deliver_due()
    assert [r["replyToken"] for r in fake_line.replies] == ["T10"]
    assert fake_line.replies[0]["messages"] == to_line_messages(menu.unsupported_media())


# --- exactly once ----------------------------------------------------------------------------


def test_redelivery_is_answered_once(client, svc, fake_line):
    first = text_event("今天天氣如何", event_id="01REDELIVER", token="T-first")
    again = text_event("今天天氣如何", event_id="01REDELIVER", token="T-again", redelivery=True)
    assert post_webhook(client, {"events": [first]}).status_code == 200
    assert post_webhook(client, {"events": [again]}).status_code == 200
    svc["delivery"].deliver_due()
    assert [r["replyToken"] for r in fake_line.replies] == ["T-first"]
    c = counts(svc["db"])
    assert (c["processed"], c["outbox"], c["log"]) == (1, 1, 1)
    with svc["db"].session() as s:
        # The fallback counter moved once, not twice.
        assert s.get(Conversation, "line:U1").misses == 1


def test_simultaneous_duplicates_in_two_workers_are_handled_once(make_app, fake_line):
    apps = [make_app(line_api_base_url=fake_line.url) for _ in range(2)]
    body = json.dumps({"events": [text_event("選單", event_id="01RACE", token="T-race")]}).encode()
    barrier = threading.Barrier(6)
    statuses = []

    def post(app):
        client = app.test_client()
        barrier.wait()
        statuses.append(post_webhook(client, body).status_code)

    threads = [threading.Thread(target=post, args=(apps[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 6
    db = apps[0].extensions["citizenbot"]["db"]
    assert counts(db)["processed"] == 1 and counts(db)["outbox"] == 1
    apps[0].extensions["citizenbot"]["delivery"].deliver_due()
    assert len(fake_line.replies) == 1


def test_one_failing_event_does_not_lose_the_others(client, svc, fake_line, monkeypatch):
    engine = svc["engine"]
    real = engine.handle_in

    def flaky(session, msg):
        if msg.user_key == "line:U-bad":
            session.add(Conversation(user_key="line:U-half-done", data={}, misses=0))
            session.flush()
            raise RuntimeError("boom")
        return real(session, msg)

    monkeypatch.setattr(engine, "handle_in", flaky)
    body = {
        "events": [
            text_event("選單", user="U-a", event_id="E-a", token="T-a"),
            text_event("選單", user="U-bad", event_id="E-bad", token="T-bad"),
            text_event("選單", user="U-b", event_id="E-b", token="T-b"),
        ]
    }
    assert post_webhook(client, body).status_code == 200
    svc["delivery"].deliver_due()
    replies = {r["replyToken"]: texts(r["messages"]) for r in fake_line.replies}
    assert set(replies) == {"T-a", "T-bad", "T-b"}
    assert "請選擇您需要的服務" in replies["T-a"] and "請選擇您需要的服務" in replies["T-b"]
    assert "稍後再試" in replies["T-bad"]  # the failed one still hears back
    with svc["db"].session() as s:
        keys = set(s.scalars(select(Conversation.user_key)))
    assert keys == {"line:U-a", "line:U-b"}  # the failed event's half-done work was rolled back
    assert counts(svc["db"])["processed"] == 3


def test_when_nothing_can_be_recorded_line_is_asked_to_redeliver(client, svc, fake_line, monkeypatch):
    """The database is down: a 200 would lose the event for good; a 500 makes LINE redeliver."""
    engine = svc["engine"]
    real = engine.handle_in
    db = svc["db"]
    real_session = db.session
    down = {"now": True}

    def broken_session():
        if down["now"]:
            raise OperationalError("SELECT 1", {}, Exception("database is down"))
        return real_session()

    monkeypatch.setattr(db, "session", broken_session)
    body = {"events": [text_event("選單", user="U-x", event_id="E-down", token="T-down")]}
    assert post_webhook(client, body).status_code == 500
    down["now"] = False  # back up: LINE's redelivery is answered once
    redelivered = {"events": [{**body["events"][0], "deliveryContext": {"isRedelivery": True}}]}
    monkeypatch.setattr(engine, "handle_in", real)
    assert post_webhook(client, redelivered).status_code == 200
    assert post_webhook(client, redelivered).status_code == 200
    svc["delivery"].deliver_due()
    assert [r["replyToken"] for r in fake_line.replies] == ["T-down"]


# --- answering quickly, delivering afterwards -------------------------------------------------


def test_webhook_answers_before_a_slow_line_api_and_the_worker_delivers(make_app, fake_line):
    app = make_app(line_api_base_url=fake_line.url, outbox_worker=True, line_api_timeout=1.0)
    # A served app builds its matcher at start (bot.app._warm); test apps skip that, so build
    # it here: this test times waiting on LINE, not the first build.
    app.extensions["citizenbot"]["matchers"].get()
    fake_line.fail("reply", "hang")
    client = app.test_client()
    started = time.monotonic()
    response = post_webhook(client, {"events": [text_event("選單", token="T-slow")]})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 1.0, elapsed  # LINE's two seconds are never spent waiting on LINE
    # The worker thread (no deliver_due call here) tries the reply, times out, then pushes.
    assert fake_line.wait_for(lambda f: len(f.pushes) == 1, timeout=10)
    assert fake_line.pushes[0]["to"] == "U1"
    assert "請選擇您需要的服務" in texts(fake_line.pushes[0]["messages"])


def test_worker_thread_sends_replies_without_being_asked(make_app, fake_line):
    app = make_app(line_api_base_url=fake_line.url, outbox_worker=True)
    client = app.test_client()
    for i in range(5):
        assert (
            post_webhook(
                client, {"events": [text_event("選單", event_id=f"W{i}", token=f"T{i}")]}
            ).status_code
            == 200
        )
    assert fake_line.wait_for(lambda f: len(f.replies) == 5, timeout=5)
    assert sorted(r["replyToken"] for r in fake_line.replies) == [f"T{i}" for i in range(5)]


def test_image_content_reaches_the_engine(line_app, fake_line):
    fake_line.add_content("M-1", b"\x89PNG fake", "image/png")
    fetch = line_app.extensions["citizenbot"]["engine"].fetch_content
    assert fetch("M-1", 1024) == (b"\x89PNG fake", "image/png")


def test_channel_secret_is_the_one_signing(client):
    # Guard against a test helper that signs with something other than the configured secret.
    body = b'{"events": []}'
    assert post_webhook(client, body, signature=sign_body(body, CHANNEL_SECRET)).status_code == 200
