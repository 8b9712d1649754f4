"""Sign-language video: queue, positions pushed as it moves, interpreters via the CLI,
outside hours, cancel, accept-after-cancel, push failure retried, cases, statistics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import video
from bot.cli import main as cli
from bot.models import OutboxMessage, VideoRequest
from tests.legal.test_legal_webhook import Line, actions, text

OPEN = datetime(2026, 11, 30, 10, 0, tzinfo=video.TZ).astimezone(UTC)  # Monday 10:00 Taipei
CLOSED = datetime(2026, 11, 28, 21, 0, tzinfo=video.TZ).astimezone(UTC)  # Saturday night


@pytest.fixture
def svc(line_app):
    return line_app.extensions["citizenbot"]


def user(line_app, svc, fake_line, uid, now=OPEN):
    svc["engine"].clock = lambda: now
    return Line(line_app.test_client(), svc, fake_line, user=uid)


def run_cli(monkeypatch, database_url, *args):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VIDEO_MEETING_URL", "https://meet.example.test/kcg-{room}")
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    return cli(["video", *args])


def test_service_hours_and_waits():
    assert video.in_hours(OPEN) and not video.in_hours(CLOSED)
    lunch = datetime(2026, 11, 30, 12, 30, tzinfo=video.TZ)
    assert not video.in_hours(lunch)
    assert video.next_opening(lunch) == datetime(2026, 11, 30, 13, 30, tzinfo=video.TZ)
    assert video.next_opening(CLOSED) == datetime(2026, 11, 30, 8, 30, tzinfo=video.TZ)  # Monday
    assert video.expected_wait_minutes(1) == 15 and video.expected_wait_minutes(3) == 45
    assert all(video.in_hours(t) for t in video.schedule_options(OPEN))


def test_whole_video_flow_over_the_webhook(line_app, svc, fake_line, monkeypatch, database_url, capsys):
    a = user(line_app, svc, fake_line, "UA")
    out = a.say("我聽不到，需要手語")
    assert "手語視訊服務" in text(out) and "08:30" in text(out)
    assert "撥打" not in text(out) and "語音" not in text(out)  # nothing relies on hearing
    out = a.tap(out, "現在排隊")
    out = a.tap(out, "陳情")
    assert "排第 1 位" in text(out) and "15 分鐘" in text(out)
    b = user(line_app, svc, fake_line, "UB")
    out = b.tap(b.say("手語視訊"), "現在排隊")
    out = b.tap(out, "略過")
    assert "排第 2 位" in text(out)
    c = user(line_app, svc, fake_line, "UC")
    out = c.tap(c.tap(c.say("視訊"), "現在排隊"), "詢問")
    assert "排第 3 位" in text(out)
    with svc["db"].session() as s:
        ids = [r.id for r in s.scalars(select(VideoRequest).order_by(VideoRequest.id))]

    # The queue as interpreters see it.
    monkeypatch.setattr(video, "in_hours", lambda at: True)  # the CLI runs on the real clock
    assert run_cli(monkeypatch, database_url, "queue", "--json") == 0
    queue = json.loads(capsys.readouterr().out)
    assert [(q["id"], q["position"]) for q in queue] == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]

    # B cancels: C moves up and is told by push.
    out = b.say("手語")
    assert "排隊中" in text(out)
    out = b.tap(out, "取消視訊需求")
    assert "已取消" in text(out)
    svc["delivery"].deliver_due()
    assert fake_line.pushes[-1]["to"] == "UC" and "排第 2 位" in fake_line.pushes[-1]["messages"][0]["text"]

    # An interpreter accepting B's just-cancelled request is refused clearly.
    assert run_cli(monkeypatch, database_url, "accept", f"V{ids[1]}", "--interpreter", "林翻譯") == 1
    assert "已由民眾取消" in capsys.readouterr().err

    # The link push fails once: the outbox retries and the link arrives, nothing lost.
    # (two rows are due, the link and C's new place: both first attempts fail)
    fake_line.fail("push", "500", times=2)
    assert run_cli(monkeypatch, database_url, "accept", str(ids[0]), "--interpreter", "林翻譯") == 0
    assert "link pushed" in capsys.readouterr().out
    svc["delivery"].deliver_due()
    assert not any(p["to"] == "UA" for p in fake_line.pushes)
    svc["delivery"].deliver_due(now=datetime.now(UTC) + timedelta(minutes=10))
    links = [p for p in fake_line.pushes if p["to"] == "UA"]
    assert len(links) == 1 and "https://meet.example.test/kcg-" in links[0]["messages"][0]["text"]
    assert "林翻譯" in links[0]["messages"][0]["text"]
    # C is now first.
    assert any(p["to"] == "UC" and "排第 1 位" in p["messages"][0]["text"] for p in fake_line.pushes)
    # Accepting twice is refused.
    assert run_cli(monkeypatch, database_url, "accept", str(ids[0]), "--interpreter", "王翻譯") == 1
    assert "已由 林翻譯 接受" in capsys.readouterr().err

    # A's status shows the link again; end with an outcome; open a petition case for A.
    assert "開始視訊" in [x["label"] for x in actions(a.say("手語"))]
    assert (
        run_cli(monkeypatch, database_url, "end", str(ids[0]), "--outcome", "petition", "--note", "陳情路燈")
        == 0
    )
    assert (
        run_cli(
            monkeypatch,
            database_url,
            "to-case",
            str(ids[0]),
            "--kind",
            "petition",
            "--description",
            "巷口路燈常常不亮",
        )
        == 0
    )
    out_text = capsys.readouterr().out
    assert "case P" in out_text
    svc["delivery"].deliver_due()
    assert any(p["to"] == "UA" and "陳情案件" in p["messages"][0]["text"] for p in fake_line.pushes)
    with svc["db"].session() as s:
        r = s.get(VideoRequest, ids[0])
        assert (r.status, r.outcome, r.interpreter) == ("done", "petition", "林翻譯")
        assert r.accepted_at and r.ended_at and r.case_number and r.case_number.startswith("P")

    # Statistics.
    assert run_cli(monkeypatch, database_url, "stats", "--json") == 0
    stats = json.loads(capsys.readouterr().out)
    assert len(stats) == 1
    m = stats[0]
    assert (m["requests"], m["sessions"], m["completed"], m["cancelled"], m["open"]) == (3, 1, 1, 1, 1)
    assert m["outcomes"] == {"petition": 1}
    assert run_cli(monkeypatch, database_url, "stats") == 0
    assert "3 requests" in capsys.readouterr().out


def test_outside_hours_request_is_kept_and_contacted_at_opening(line_app, svc, fake_line):
    a = user(line_app, svc, fake_line, "UA", now=CLOSED)
    out = a.say("手語視訊")
    assert "現在不是服務時間" in text(out)
    out = a.tap(a.tap(out, "現在排隊"), "通報")
    assert "11/30（一）08:30" in text(out) and "不會過期" in text(out)
    with svc["db"].session() as s:
        video.queue_updates(s, CLOSED + timedelta(hours=30))  # still Sunday: nothing
    svc["delivery"].deliver_due()
    assert fake_line.pushes == []
    opening = datetime(2026, 11, 30, 8, 31, tzinfo=video.TZ)
    for _ in range(2):  # the job runs in every worker; the push goes once
        with svc["db"].session() as s:
            video.queue_updates(s, opening)
    svc["delivery"].deliver_due()
    assert len(fake_line.pushes) == 1
    assert (
        "服務時間開始" in fake_line.pushes[0]["messages"][0]["text"]
        and "排第 1 位" in fake_line.pushes[0]["messages"][0]["text"]
    )
    with svc["db"].session() as s:
        assert s.scalars(select(VideoRequest)).one().status == "waiting"


def test_scheduled_request(line_app, svc, fake_line):
    a = user(line_app, svc, fake_line, "UA")
    out = a.tap(a.say("手語"), "預約時段")
    out = a.tap(out, "12/1（二）")
    labels = [x["label"] for x in actions(out)]
    assert labels[0] == "08:30" and "12:00" not in labels and len(labels) <= 13
    out = a.tap(out, "09:00")
    out = a.tap(out, "詢問")
    assert "已預約手語視訊" in text(out) and "12/1（二）09:00" in text(out)
    # A second request while one is open shows the first instead.
    out = a.say("手語")
    assert "已預約手語視訊" in text(out) and "取消視訊需求" in [x["label"] for x in actions(out)]
    with svc["db"].session() as s:
        r = s.scalars(select(VideoRequest)).one()
        assert (r.mode, r.status, r.topic) == ("scheduled", "scheduled", "inquiry")
        assert r.scheduled_for == datetime(2026, 12, 1, 9, 0, tzinfo=video.TZ)
        r2 = video.accept(s, r.id, "林翻譯", OPEN, None)
        assert r2.meeting_url.startswith("https://meet.jit.si/kcg1999-sign-")
        rows = s.scalars(select(OutboxMessage)).all()
        assert any(row.to == "UA" and r2.meeting_url in json.dumps(row.messages) for row in rows)


def test_resident_cancel_then_accept_is_refused_at_service_level(db):
    with db.session() as s:
        r, _ = video.create(s, user_key="line:UA", channel="line", mode="now", topic=None, now=OPEN)
        video.cancel(s, r.id, "line:UA", OPEN)
    with db.session() as s:
        with pytest.raises(video.VideoError, match="已由民眾取消"):
            video.accept(s, r.id, "林翻譯", OPEN)
        with pytest.raises(video.VideoError, match="已經取消"):
            video.cancel(s, r.id, "line:UA", OPEN)
        with pytest.raises(video.VideoError, match="找不到"):
            video.cancel(s, r.id, "line:other", OPEN)
        with pytest.raises(video.VideoError, match="只有進行中"):
            video.end(s, r.id, "answered", None, OPEN)


def test_scheduled_session_reminder_once(db):
    at = datetime(2026, 12, 1, 9, 0, tzinfo=video.TZ)
    with db.session() as s:
        r, _ = video.create(
            s, user_key="line:UA", channel="line", mode="scheduled", topic=None, now=OPEN, scheduled_for=at
        )
    with db.session() as s:
        video.scheduled_reminders(s, at - timedelta(minutes=30))
        assert s.scalars(select(OutboxMessage)).all() == []
    for _ in range(2):
        with db.session() as s:
            video.scheduled_reminders(s, at - timedelta(minutes=9))
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage)).all()
        assert len(rows) == 1 and "手語視訊提醒" in rows[0].messages[0]["text"]
        assert s.get(VideoRequest, r.id).status == "scheduled"  # still open until accepted


def test_a_dispatch_case_from_a_session_is_routed_and_credited_to_its_interpreter(db):
    from bot import video
    from bot.models import Case, CaseHistory

    now = datetime.now(UTC)
    with db.session() as s:
        request = VideoRequest(
            user_key="line:Udeaf",
            channel="line",
            mode="now",
            status="done",
            interpreter="林翻譯",
            created_at=now,
        )
        s.add(request)
        s.flush()
        rid = request.id
    with db.session() as s, pytest.raises(video.VideoError, match="類別"):
        video.to_case(s, rid, "dispatch", "路燈不亮", None, now)
    with db.session() as s, pytest.raises(video.VideoError, match="地點"):
        video.to_case(s, rid, "dispatch", "路燈不亮", None, now, category="streetlight")
    with db.session() as s, pytest.raises(video.VideoError, match="不在高雄市"):
        video.to_case(
            s,
            rid,
            "dispatch",
            "路燈不亮",
            None,
            now,
            category="streetlight",
            latitude=22.997,
            longitude=120.213,
        )
    with db.session() as s:
        case = video.to_case(
            s, rid, "dispatch", "路燈不亮", None, now, category="streetlight", address="鳳山區光遠路"
        )
        number = case.number
    with db.session() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        assert (case.category, case.district, case.location_approximate) == ("streetlight", "鳳山區", True)
        assert case.agency and case.due_at is not None
        actors = {h.actor for h in s.scalars(select(CaseHistory).where(CaseHistory.case_id == case.id))}
        assert actors == {"interpreter:林翻譯", "routing"}  # created by the interpreter, then routed


def test_a_tampered_postback_gets_an_answer_not_an_error(engine):
    from bot.messages import Message

    for data in ("intent=sign_language_video&a=sday&p=abc", "intent=sign_language_video&a=sday&d=xx&p=-1"):
        replies = engine.handle(Message("web:tamper", "web", "postback", data=data))
        assert replies and all(getattr(r, "text", "x") for r in replies)


def test_closed_dates_are_outside_service_hours():
    from datetime import date

    cfg = video.config()
    holiday = date(2026, 12, 25)  # a Friday, closed as 行憲紀念日
    assert holiday in cfg.closed_dates and cfg.sessions_on(holiday) == []
    at_ten = datetime(2026, 12, 25, 2, 0, tzinfo=UTC)  # 10:00 in Taipei
    assert not video.in_hours(at_ten)
    opening = video.local(video.next_opening(at_ten))
    assert (opening.date(), opening.hour, opening.minute) == (date(2026, 12, 28), 8, 30)  # the next Monday
    assert video.in_hours(datetime(2026, 12, 24, 2, 0, tzinfo=UTC))  # the Thursday before is open
