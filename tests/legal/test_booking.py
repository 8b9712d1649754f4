"""Bookings: rules, bad input, a slot never given twice under concurrency, blocks and reminders."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import legal
from bot.db import Database
from bot.legal import BookingError
from bot.models import LegalBooking, OutboxMessage

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=legal.TZ).astimezone(UTC)  # Monday 10:00 Taipei
WED = date(2026, 12, 2)


def book(session, user="line:U1", site="siwei", day=WED, slot="09:00", now=NOW, topic=None):
    return legal.book(
        session,
        user_key=user,
        site_id=site,
        day=day,
        slot=slot,
        name="王小明",
        phone="0912-345-678",
        topic=topic,
        now=now,
    )


def pushes(session):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "push").order_by(OutboxMessage.id)
    ).all()


def test_book_and_the_slot_is_gone(db):
    with db.session() as s:
        b = book(s, topic="老闆積欠薪水不給")
        assert b.topic_kind == "labour"
    with db.session() as s:
        assert "09:00" not in legal.free_slots(s, legal.get_site("siwei"), WED, NOW)
        with pytest.raises(BookingError, match="剛剛被其他人預約"):
            book(s, user="line:U2")
        # The failed insert did not spoil the rest of the transaction.
        assert book(s, user="line:U2", slot="09:15").id


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"day": date(2026, 11, 27)}, "已經過了"),
        ({"day": date(2026, 11, 30), "slot": "09:00"}, "已經過了或即將開始"),
        ({"day": date(2026, 12, 5)}, "沒有諮詢場次"),  # Saturday
        ({"day": date(2026, 12, 14)}, "14 天內"),
        ({"slot": "09:10"}, "不是"),
        ({"slot": "12:00"}, "不是"),
        ({"site": "newimmigrants", "day": date(2026, 12, 26), "slot": "10:00"}, "不需預約"),
        ({"site": "nowhere"}, "找不到"),
    ],
)
def test_bad_bookings_are_refused_clearly(db, kwargs, message):
    with db.session() as s:
        with pytest.raises(BookingError, match=message):
            book(s, **kwargs)
        assert s.scalar(select(func.count()).select_from(LegalBooking)) == 0


def test_blocked_date_is_refused(db):
    with db.session() as s:
        legal.block_date(s, WED, None, "颱風停班", NOW)
    with db.session() as s:
        with pytest.raises(BookingError, match="暫停諮詢（颱風停班）"):
            book(s)


def test_one_booking_per_person_per_day_and_cancel_frees_the_slot(db):
    with db.session() as s:
        first = book(s)
        with pytest.raises(BookingError, match="每人每天限預約一個時段"):
            book(s, site="fengshan", slot="14:00")
        book(s, day=WED + timedelta(days=1))  # another day is fine
    with db.session() as s:
        with pytest.raises(BookingError, match="找不到"):
            legal.cancel(s, first.id, "line:someone-else", NOW)
        legal.cancel(s, first.id, "line:U1", NOW)
        with pytest.raises(BookingError, match="已經取消"):
            legal.cancel(s, first.id, "line:U1", NOW)
    with db.session() as s:
        assert book(s, user="line:U2").slot_start == "09:00"  # the freed slot
        assert book(s, site="fengshan", slot="14:00").id  # and U1 may book that day again
        assert [b.date for b in legal.my_bookings(s, "line:U1", NOW)] == [WED, WED + timedelta(days=1)]


def test_concurrent_bookings_of_one_slot_exactly_one_wins(database_url):
    """Eight residents, eight threads and sessions, one last slot: exactly one gets it."""
    db = Database(database_url)
    n = 8
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(i):
        barrier.wait()
        try:
            with db.session() as s:
                book(s, user=f"line:R{i}", slot="19:45")
            outcome = "won"
        except BookingError as e:
            outcome = str(e)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert results.count("won") == 1, results
        assert all("剛剛被其他人預約" in r for r in results if r != "won")
        with db.session() as s:
            rows = s.scalars(select(LegalBooking).where(LegalBooking.slot_start == "19:45")).all()
            assert len(rows) == 1 and rows[0].status == "booked"
    finally:
        db.dispose()


def test_the_database_itself_refuses_a_second_active_booking(db):
    """Even bypassing the service, the partial unique index holds."""
    from sqlalchemy.exc import IntegrityError

    with db.session() as s:
        book(s)
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(
                LegalBooking(
                    site_id="siwei",
                    date=WED,
                    slot_start="09:00",
                    user_key="x",
                    name="x",
                    phone="x",
                    status="booked",
                    created_at=NOW,
                )
            )
    with db.session() as s:  # a cancelled row does not count
        s.add(
            LegalBooking(
                site_id="siwei",
                date=WED,
                slot_start="09:00",
                user_key="y",
                name="y",
                phone="y",
                status="cancelled",
                created_at=NOW,
            )
        )


def test_blocking_a_date_releases_and_notifies_bookings(db):
    with db.session() as s:
        a = book(s, user="line:UA", site="cijin", slot="09:00")
        b = book(s, user="line:UB", site="siwei", slot="09:00")
    with db.session() as s:
        _, affected = legal.block_date(s, WED, "cijin", "颱風停班", NOW)
        assert [x.id for x in affected] == [a.id]
    with db.session() as s:
        assert s.get(LegalBooking, a.id).status == "blocked"
        assert s.get(LegalBooking, b.id).status == "booked"
        rows = pushes(s)
        assert [r.to for r in rows] == ["UA"]
        assert "颱風停班" in rows[0].messages[0]["text"] and "旗津區公所" in rows[0].messages[0]["text"]
        # Blocking again (or every site) does not notify UA twice.
        legal.block_date(s, WED, "cijin", "颱風停班", NOW)
        legal.block_date(s, WED, None, "全市停班", NOW)
    with db.session() as s:
        assert [r.to for r in pushes(s)] == ["UA", "UB"]


def test_reminder_the_day_before_once(db):
    with db.session() as s:
        book(s, user="line:UA", day=date(2026, 12, 1), slot="14:00", site="fengshan")
        book(s, user="line:UB", day=WED, slot="14:00", site="fengshan")
    early = datetime(2026, 11, 30, 7, 0, tzinfo=legal.TZ)
    with db.session() as s:
        legal.send_reminders(s, early)  # no pushes in the early morning
        assert pushes(s) == []
    at = datetime(2026, 11, 30, 9, 5, tzinfo=legal.TZ)
    for _ in range(2):
        with db.session() as s:
            legal.send_reminders(s, at)
    with db.session() as s:
        rows = pushes(s)
        assert [r.to for r in rows] == ["UA"]
        assert "明天" in rows[0].messages[0]["text"] and "14:00" in rows[0].messages[0]["text"]


def test_reminder_job_is_registered():
    from bot.jobs import load_jobs

    assert "bot.legal.send_reminders" in load_jobs()
    assert "bot.video.queue_updates" in load_jobs()


def test_staff_cli_block_and_bookings(db, database_url, monkeypatch, capsys):
    from bot.cli import main as cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    day = legal.today(datetime.now(UTC)) + timedelta(days=1)
    while not legal.get_site("siwei").sessions_on(day):
        day += timedelta(days=1)
    with db.session() as s:
        book(s, user="line:UA", day=day, now=datetime.now(UTC))
    assert cli(["legal", "bookings", "--date", day.isoformat()]) == 0
    assert "王小明" in capsys.readouterr().out
    assert cli(["legal", "block", "2026-13-01"]) == 2
    assert cli(["legal", "block", day.isoformat(), "--site", "nowhere"]) == 2
    assert "unknown site" in capsys.readouterr().err
    assert cli(["legal", "block", day.isoformat(), "--site", "siwei", "--reason", "颱風停班"]) == 0
    assert "1 booking(s) released and notified" in capsys.readouterr().out
    with db.session() as s:
        assert [r.to for r in pushes(s)] == ["UA"]
        assert legal.sessions_on(s, legal.get_site("siwei"), day) == []
    assert cli(["legal", "unblock", day.isoformat(), "--site", "siwei"]) == 0
    with db.session() as s:
        assert legal.sessions_on(s, legal.get_site("siwei"), day)


def test_a_topic_said_up_front_is_kept_and_not_asked_again(engine):
    from bot.messages import Message, Text

    user = "web:topic1"

    def say(text=None, data=None):
        kind = "postback" if data else "text"
        replies = engine.handle(Message(user, "web", kind, text=text, data=data))
        return replies, "\n".join(r.text for r in replies if isinstance(r, Text))

    replies, _ = say("我想預約法律諮詢，是離婚的問題")
    # site → date → slot, each by its first button
    for _ in range(3):
        choice = next(c for c in replies[-1].choices if c.data and "a=" in c.data)
        replies, out = say(text=choice.text, data=choice.data)
    assert "姓名" in out
    _, out = say("王小明")
    assert "電話" in out
    _, out = say("0912-345-678")
    assert "諮詢事項：婚姻家事" in out and "想諮詢哪方面" not in out
