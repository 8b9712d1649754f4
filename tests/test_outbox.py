"""Outbox delivery against the fake LINE server: reply, push fallback, retries, claims."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import outbox
from bot.channels.line_render import to_line_messages
from bot.line_api import LineApi
from bot.messages import Choice, Text, reply_from_dict, reply_to_dict
from bot.models import OutboxMessage
from handlers.base import ContentError


@pytest.fixture
def svc(line_app):
    return line_app.extensions["citizenbot"]


def add_reply(db, token="T1", to="U1", text="您好", created_at=None):
    with db.session() as s:
        row = outbox.enqueue_reply(s, to, token, to_line_messages([Text(text)]))
        if created_at is not None:
            row.created_at = created_at
        s.flush()
        return row.id


def add_push(db, to="U1", text="通知"):
    with db.session() as s:
        row = outbox.enqueue_push(s, to, to_line_messages([Text(text)]))
        s.flush()
        return row.id


def row(db, row_id) -> OutboxMessage:
    with db.session() as s:
        return s.get(OutboxMessage, row_id)


def now():
    return datetime.now(UTC)


def test_reply_goes_out_with_its_token(svc, fake_line):
    row_id = add_reply(svc["db"])
    assert svc["delivery"].deliver_due() == 1
    assert fake_line.replies == [{"replyToken": "T1", "messages": [{"type": "text", "text": "您好"}]}]
    assert fake_line.pushes == []
    r = row(svc["db"], row_id)
    assert (r.status, r.attempts, r.sent_at is not None) == ("sent", 1, True)
    assert svc["delivery"].deliver_due() == 0  # nothing twice


@pytest.mark.parametrize("mode", ["500", "429", "invalid_token", "hang"])
def test_failed_reply_ends_as_exactly_one_push_with_the_retry_key(make_app, fake_line, mode):
    app = make_app(line_api_base_url=fake_line.url, line_api_timeout=0.5)
    svc = app.extensions["citizenbot"]
    row_id = add_reply(svc["db"], token="T-fail", to="U-fail")
    fake_line.fail("reply", mode)
    svc["delivery"].deliver_due()
    r = row(svc["db"], row_id)
    assert r.status == "sent"
    assert fake_line.replies == []
    assert fake_line.pushes == [
        {"to": "U-fail", "messages": [{"type": "text", "text": "您好"}], "retry_key": r.retry_key}
    ]
    # Later passes, even far in the future, send nothing more.
    svc["delivery"].deliver_due(now=now() + timedelta(hours=1))
    assert len(fake_line.pushes) == 1 and len(fake_line.calls_to("push")) == 1


def test_push_failures_are_retried_with_backoff_and_one_stable_retry_key(svc, fake_line):
    row_id = add_reply(svc["db"])
    fake_line.fail("reply", "500")
    fake_line.fail("push", "500")
    fake_line.fail("push", "hang")  # past the 2-second timeout
    t0 = now()
    svc["delivery"].deliver_due(now=t0)
    r = row(svc["db"], row_id)
    assert (r.status, r.attempts) == ("pending", 1)
    first_wait = r.next_attempt_at - t0
    assert timedelta(seconds=1) <= first_wait <= timedelta(seconds=3)
    assert svc["delivery"].deliver_due(now=t0) == 0  # not due yet
    svc["delivery"].deliver_due(now=t0 + timedelta(seconds=10))  # push times out
    r = row(svc["db"], row_id)
    assert (r.status, r.attempts) == ("pending", 2)
    assert r.next_attempt_at - (t0 + timedelta(seconds=10)) > first_wait  # backing off
    svc["delivery"].deliver_due(now=t0 + timedelta(minutes=10))
    r = row(svc["db"], row_id)
    assert (r.status, r.attempts) == ("sent", 3)
    keys = [c.headers.get("X-Line-Retry-Key") for c in fake_line.calls_to("push")]
    assert keys == [r.retry_key] * 3  # the same key on every try
    assert len(fake_line.pushes) == 1  # exactly one accepted push
    assert [c.endpoint for c in fake_line.calls] == ["reply", "push", "push", "push"]


def test_backoff_is_capped_at_a_few_minutes(svc, fake_line):
    row_id = add_push(svc["db"])
    t = now()
    for _ in range(12):
        fake_line.fail("push", "429")
        svc["delivery"].deliver_due(now=t)
        r = row(svc["db"], row_id)
        assert r.status == "pending"
        assert r.next_attempt_at - t <= timedelta(seconds=outbox.BACKOFF_CAP_SECONDS)
        t = r.next_attempt_at
    assert r.next_attempt_at - t <= timedelta(minutes=5)
    svc["delivery"].deliver_due(now=t)
    assert row(svc["db"], row_id).status == "sent" and len(fake_line.pushes) == 1


def test_push_answered_409_counts_as_sent(svc, fake_line):
    row_id = add_push(svc["db"])
    svc["delivery"].deliver_due()
    assert len(fake_line.pushes) == 1
    # A worker died after LINE accepted the push but before recording it: the row is due again.
    with svc["db"].session() as s:
        r = s.get(OutboxMessage, row_id)
        r.status, r.next_attempt_at = "pending", now() - timedelta(seconds=1)
    svc["delivery"].deliver_due()
    r = row(svc["db"], row_id)
    assert r.status == "sent" and "already accepted" in (r.last_error or "")
    assert len(fake_line.pushes) == 1  # LINE answered 409: not sent twice
    assert len(fake_line.calls_to("push")) == 2


@pytest.mark.parametrize("mode", ["400", "403"])
def test_permanent_push_failures_are_marked_failed(svc, fake_line, mode):
    row_id = add_push(svc["db"])
    fake_line.fail("push", mode)
    svc["delivery"].deliver_due()
    r = row(svc["db"], row_id)
    assert r.status == "failed"
    assert r.last_error.startswith(mode)
    svc["delivery"].deliver_due(now=now() + timedelta(days=1))
    assert len(fake_line.calls_to("push")) == 1  # not retried forever


def test_wrong_access_token_is_retried_not_dropped(make_app, fake_line):
    app = make_app(line_api_base_url=fake_line.url, line_channel_access_token="stale-token")
    svc = app.extensions["citizenbot"]
    row_id = add_push(svc["db"])
    svc["delivery"].deliver_due()
    assert fake_line.unauthorized == 1
    assert row(svc["db"], row_id).status == "pending"  # operators can fix the token


def test_stale_reply_token_goes_straight_to_push(svc, fake_line):
    row_id = add_reply(svc["db"], created_at=now() - timedelta(minutes=2))
    svc["delivery"].deliver_due()
    assert [c.endpoint for c in fake_line.calls] == ["push"]
    assert row(svc["db"], row_id).status == "sent"


def test_a_row_whose_worker_died_is_taken_over_by_push(svc, fake_line):
    row_id = add_reply(svc["db"])
    with svc["db"].session() as s:  # claimed by a worker that never came back
        r = s.get(OutboxMessage, row_id)
        r.status, r.attempts, r.next_attempt_at = "sending", 1, now() + timedelta(seconds=30)
    assert svc["delivery"].deliver_due() == 0  # its lease still holds
    svc["delivery"].deliver_due(now=now() + timedelta(seconds=31))
    r = row(svc["db"], row_id)
    assert (r.status, r.attempts) == ("sent", 2)
    # The reply may have gone out before the crash; only a push (retry key) is safe now.
    assert [c.endpoint for c in fake_line.calls] == ["push"]


def test_two_workers_never_send_the_same_row(make_app, fake_line):
    apps = [make_app(line_api_base_url=fake_line.url) for _ in range(3)]
    db = apps[0].extensions["citizenbot"]["db"]
    ids = [add_reply(db, token=f"T{i}", text=f"第{i}則") for i in range(30)]
    barrier = threading.Barrier(len(apps))

    def work(app):
        barrier.wait()
        app.extensions["citizenbot"]["delivery"].deliver_due()

    threads = [threading.Thread(target=work, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r["replyToken"] for r in fake_line.replies) == sorted(f"T{i}" for i in range(30))
    assert len(fake_line.calls) == 30 and fake_line.pushes == []
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
        assert all(r.status == "sent" and r.attempts == 1 for r in rows)


# --- notify -----------------------------------------------------------------------------------


def test_notify_routes_by_channel(svc, fake_line):
    replies = [Text("您的案件已結案", (Choice("選單", text="選單"),))]
    with svc["db"].session() as s:
        outbox.notify(s, "line:U-citizen", replies)
        outbox.notify(s, "web:abc123", replies)
        outbox.notify(s, "console:me", replies)
    with svc["db"].session() as s:
        rows = {r.channel: r for r in s.scalars(select(OutboxMessage))}
    assert set(rows) == {"line", "web", "console"}
    line = rows["line"]
    assert (line.kind, line.to, line.reply_token) == ("push", "U-citizen", None)
    assert line.messages == to_line_messages(replies)
    web = rows["web"]
    assert (web.to, web.status) == ("web:abc123", "pending")
    assert web.messages == json.loads(json.dumps([reply_to_dict(r) for r in replies]))
    assert [reply_from_dict(m) for m in web.messages] == replies
    svc["delivery"].deliver_due()
    assert [p["to"] for p in fake_line.pushes] == ["U-citizen"]
    with svc["db"].session() as s:
        assert s.get(OutboxMessage, web.id).status == "pending"  # the web channel hands it out
        assert s.get(OutboxMessage, rows["console"].id).status == "pending"  # so does the terminal


def test_notify_rolls_back_with_its_cause(svc, fake_line):
    with pytest.raises(RuntimeError), svc["db"].session() as s:
        outbox.notify(s, "line:U1", [Text("不該送出")])
        raise RuntimeError("the change failed")
    svc["delivery"].deliver_due()
    assert fake_line.calls == []


# --- the thread -----------------------------------------------------------------------------


def test_thread_wakes_on_commit_and_polls(make_app, fake_line, monkeypatch):
    ran = []

    def fake_jobs(db, now=None):
        ran.append(time.monotonic())
        if len(ran) == 1:
            raise RuntimeError("a job crashed")
        return 0

    monkeypatch.setattr("bot.jobs.run_all", fake_jobs)
    monkeypatch.setattr(outbox, "JOBS_EVERY_SECONDS", 0.2)
    app = make_app(line_api_base_url=fake_line.url, outbox_worker=True)
    svc = app.extensions["citizenbot"]
    started = time.monotonic()
    with svc["db"].session() as s:
        outbox.notify(s, "line:U-wake", [Text("醒來")])
    assert fake_line.wait_for(lambda f: len(f.pushes) == 1, timeout=3)
    assert time.monotonic() - started < 0.9  # woken by the commit, not by the 1 s poll
    # A row that becomes due later is found by polling.
    with svc["db"].session() as s:
        r = outbox.enqueue_push(s, "U-later", to_line_messages([Text("稍後")]))
        r.next_attempt_at = now() + timedelta(seconds=1)
    assert fake_line.wait_for(lambda f: len(f.pushes) == 2, timeout=5)
    deadline = time.monotonic() + 5
    while len(ran) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ran) >= 2  # periodic jobs keep running after one raised
    svc["delivery"].stop()
    assert not svc["delivery"]._thread.is_alive()


def test_no_thread_when_the_worker_is_off(svc, fake_line):
    with svc["db"].session() as s:
        outbox.notify(s, "line:U1", [Text("hi")])
    time.sleep(0.3)
    assert fake_line.calls == [] and svc["delivery"]._thread is None


# --- LineApi ------------------------------------------------------------------------------------


def test_get_content(svc, fake_line):
    api: LineApi = svc["line_api"]
    fake_line.add_content("M1", b"\xff\xd8jpeg-bytes", "image/jpeg")
    assert api.get_content("M1", 100) == (b"\xff\xd8jpeg-bytes", "image/jpeg")
    with pytest.raises(ContentError, match="too large"):
        api.get_content("M1", 5)
    with pytest.raises(ContentError):
        api.get_content("missing", 100)
    fake_line.fail("content", "500")
    with pytest.raises(ContentError):
        api.get_content("M1", 100)
    assert all(c.headers.get("Authorization") == "Bearer test-access-token" for c in fake_line.calls)


def test_get_content_times_out(make_app, fake_line):
    app = make_app(
        line_api_base_url=fake_line.url, line_data_api_base_url=fake_line.url, line_api_timeout=0.5
    )
    fake_line.add_content("M1", b"x", "image/png")
    fake_line.fail("content", "hang")
    started = time.monotonic()
    with pytest.raises(ContentError):
        app.extensions["citizenbot"]["line_api"].get_content("M1", 100)
    assert time.monotonic() - started < 3


def test_unreachable_api_is_a_transient_error(make_app):
    app = make_app()  # points at a closed loopback port
    svc = app.extensions["citizenbot"]
    row_id = add_push(svc["db"])
    svc["delivery"].deliver_due()
    r = row(svc["db"], row_id)
    assert r.status == "pending" and r.last_error
