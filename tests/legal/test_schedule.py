"""Schedule logic: weekdays, the Wednesday evening, the last-Saturday rule, month ends,
blocked dates, day parsing in Asia/Taipei, slots and phone numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot import legal


def taipei(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=legal.TZ).astimezone(UTC)


def site(site_id):
    return legal.get_site(site_id)


def open_ids(session, day):
    open_sites, _ = legal.open_on(session, day)
    return {o.site.id for o in open_sites}


def test_site_data_comes_from_the_shared_csv():
    ids = {s.id for s in legal.sites()}
    assert ids == {"siwei", "fengshan", "gangshan", "qishan", "newimmigrants", "linyuan", "qianzhen", "cijin"}
    assert not any("鳳山行政中心" in s.name for s in legal.sites())
    assert site("fengshan").address == "高雄市鳳山區經武路30號" and site("fengshan").approximate
    assert not site("siwei").approximate
    assert site("qianzhen").phone == "07-8215176#223" and site("qianzhen").tel == "078215176,223"
    assert not site("newimmigrants").bookable and site("siwei").bookable


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2026, 11, 30), {"siwei", "fengshan", "gangshan", "linyuan"}),  # Mon
        (date(2026, 12, 1), {"siwei", "fengshan", "qishan", "qianzhen"}),  # Tue
        (date(2026, 12, 2), {"siwei", "fengshan", "gangshan", "cijin"}),  # Wed
        (date(2026, 12, 3), {"siwei", "fengshan"}),  # Thu
        (date(2026, 12, 4), {"siwei", "fengshan", "gangshan", "qishan"}),  # Fri
        (date(2026, 12, 5), set()),  # an ordinary Saturday
        (date(2026, 12, 6), set()),  # Sun
        (date(2026, 12, 26), {"newimmigrants"}),  # the last Saturday of December
    ],
)
def test_who_is_open_on_each_weekday(db, day, expected):
    with db.session() as s:
        assert open_ids(s, day) == expected


def test_wednesday_evening_session_only_at_siwei():
    wed = date(2026, 12, 2)
    assert [x.label for x in site("siwei").sessions_on(wed)] == ["09:00-12:00", "14:00-17:00", "18:00-20:00"]
    assert [x.label for x in site("siwei").sessions_on(wed + timedelta(days=1))] == [
        "09:00-12:00",
        "14:00-17:00",
    ]
    assert len(legal.all_slots(site("siwei"), wed)) == 12 + 12 + 8
    assert legal.all_slots(site("siwei"), wed)[-1] == "19:45"


@pytest.mark.parametrize(
    "day, last",
    [
        (date(2026, 10, 31), True),  # the month ends on a Saturday
        (date(2026, 10, 24), False),
        (date(2026, 11, 28), True),  # 11/30 is a Monday
        (date(2026, 11, 21), False),
        (date(2027, 2, 27), True),  # February, 28 days
        (date(2028, 2, 26), True),  # leap February: 2/29 is a Tuesday
        (date(2027, 1, 30), True),  # 1/31 is a Sunday
        (date(2027, 1, 31), False),  # a Sunday is never it
    ],
)
def test_last_saturday_of_the_month(day, last):
    assert bool(site("newimmigrants").sessions_on(day)) is last


def test_blocked_dates_close_one_site_or_all(db):
    wed = date(2026, 12, 2)
    now = taipei(2026, 11, 30)
    with db.session() as s:
        legal.block_date(s, wed, "cijin", "颱風停班", now)
    with db.session() as s:
        open_sites, closed = legal.open_on(s, wed)
        assert {o.site.id for o in open_sites} == {"siwei", "fengshan", "gangshan"}
        assert [(c[0].id, c[1]) for c in closed] == [("cijin", "颱風停班")]
        legal.block_date(s, wed, None, "全市停班", now)
    with db.session() as s:
        assert open_ids(s, wed) == set()
        assert wed not in legal.booking_days(s, site("siwei"), now)
        assert legal.unblock_date(s, wed, None) == 1
    with db.session() as s:
        assert open_ids(s, wed) == {"siwei", "fengshan", "gangshan"}


def test_booking_days_cover_14_days_across_the_month_end(db):
    now = taipei(2026, 11, 25, 9)  # a Wednesday
    with db.session() as s:
        legal.block_date(s, date(2026, 12, 1), None, None, now)
        days = legal.booking_days(s, site("siwei"), now)
    assert days[0] == date(2026, 11, 25)
    assert days[-1] == date(2026, 12, 8)  # 14 days: 11/25 … 12/8
    assert date(2026, 11, 30) in days and date(2026, 12, 1) not in days
    assert all(d.isoweekday() <= 5 for d in days)
    assert len(days) == 10 - 1
    with db.session() as s:
        # The last Saturday of November is the only day the walk-in site holds sessions.
        assert [
            d for d in range(14) if site("newimmigrants").sessions_on(date(2026, 11, 25) + timedelta(days=d))
        ] == [3]


def test_slots_today_start_after_the_lead_time(db):
    now = taipei(2026, 11, 30, 14, 20)
    with db.session() as s:
        free = legal.free_slots(s, site("fengshan"), date(2026, 11, 30), now)
    assert free[0] == "15:00" and free[-1] == "16:45"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天", date(2026, 11, 30)),
        ("明天有嗎", date(2026, 12, 1)),
        ("後天", date(2026, 12, 2)),
        ("週三", date(2026, 12, 2)),
        ("星期一", date(2026, 11, 30)),
        ("禮拜日", date(2026, 12, 6)),
        ("下週三", date(2026, 12, 9)),
        ("12/5", date(2026, 12, 5)),
        ("12月31日", date(2026, 12, 31)),
        ("1/3", date(2027, 1, 3)),  # next year's January
        ("11/20", date(2026, 11, 20)),  # past, and said so by the caller
        ("2027-01-08", date(2027, 1, 8)),
        ("2/30", None),
        ("沒有日期", None),
    ],
)
def test_parse_day(text, expected):
    assert legal.parse_day(text, taipei(2026, 11, 30, 10)) == expected


def test_days_are_taipei_days_not_utc_days():
    late = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 12/1 01:30 in Taipei
    assert legal.today(late) == date(2026, 12, 1)
    assert legal.parse_day("明天", late) == date(2026, 12, 2)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0912345678", "0912-345-678"),
        ("0912-345-678", "0912-345-678"),
        ("+886 912 345 678", "0912-345-678"),
        ("+886-912-345678", "0912-345-678"),
        ("０９１２３４５６７８", "0912-345-678"),
        ("07-3373686", "07-3373686"),
        ("(07)742-2111#220", "07-7422111#220"),
        ("07 742 2111 分機 220", "07-7422111#220"),
        ("02-2345-6789", "02-23456789"),
        ("+886 7 337 3686", "07-3373686"),
        ("049-2345678", "049-2345678"),
        ("12345", None),
        ("0812", None),
        ("091234567", None),
        ("09123456789", None),
        ("+1 415 555 0100", None),
        ("abc", None),
        ("0912345678#12", None),
        ("", None),
    ],
)
def test_phone_numbers(raw, expected):
    assert legal.normalize_phone(raw) == expected
