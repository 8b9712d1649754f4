"""Free legal consultation: sites, schedules, nearest sites, bookings, reminders.

Everything about time is in Asia/Taipei. Site data lives in data/legal_sites.yaml;
bookings and blocked dates in the database. A slot is never given twice: the
database refuses a second active booking of one slot (partial unique index), and
`book` turns that refusal into a clear answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import data
from bot.jobs import periodic
from bot.messages import Reply, Text
from bot.models import LegalBlockedDate, LegalBooking

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Taipei")
WEEKDAY_NAMES = "一二三四五六日"
# Kaohsiung's extent with a margin; anything outside is "not in Kaohsiung".
# Beyond this from every district centre, a point is not in (or near) the city.


class BookingError(Exception):
    """A booking that cannot be made; str(error) is the zh-TW answer for the resident."""


# --- site data --------------------------------------------------------------------


@dataclass(frozen=True)
class Session_:
    start: time
    end: time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Rule:
    weekdays: frozenset[int] = frozenset()  # ISO weekdays
    last_weekday_of_month: int | None = None
    sessions: tuple[Session_, ...] = ()

    def applies(self, day: date) -> bool:
        if self.last_weekday_of_month is not None:
            return (
                day.isoweekday() == self.last_weekday_of_month
                and (day + timedelta(days=7)).month != day.month
            )
        return day.isoweekday() in self.weekdays


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    short: str
    district: str
    address: str
    phone: str
    lat: float
    lng: float
    coord_status: str
    bookable: bool
    hours_text: str
    rules: tuple[Rule, ...]
    aliases: tuple[str, ...] = ()
    place: str | None = None
    walk_in_note: str | None = None

    @property
    def approximate(self) -> bool:
        return self.coord_status != "confirmed"

    def sessions_on(self, day: date) -> list[Session_]:
        """The weekly schedule's sessions on a day, blocked dates not considered."""
        found = [s for rule in self.rules if rule.applies(day) for s in rule.sessions]
        return sorted(set(found), key=lambda s: s.start)

    @property
    def tel(self) -> str:
        """The phone number for a tel: link (digits; extension after a comma)."""
        main, _, ext = self.phone.partition("#")
        digits = re.sub(r"\D", "", main)
        return f"{digits},{ext}" if ext else digits


@dataclass(frozen=True)
class Topic:
    kind: str
    label: str
    words: tuple[str, ...]
    elsewhere: str | None = None


@dataclass(frozen=True)
class Config:
    sites: tuple[Site, ...]
    topics: tuple[Topic, ...]
    slot_minutes: int = 15
    capacity_per_slot: int = 1
    days_ahead: int = 14
    lead_minutes: int = 30
    by_id: dict[str, Site] = field(default_factory=dict)

    def site(self, site_id: str | None) -> Site | None:
        return self.by_id.get(site_id or "")


def _t(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


@lru_cache(maxsize=1)
def config() -> Config:
    with data.path("legal_sites.yaml").open(encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    sites = []
    for s in raw["sites"]:
        rules = tuple(
            Rule(
                weekdays=frozenset(r.get("weekdays", ())),
                last_weekday_of_month=r.get("last_weekday_of_month"),
                sessions=tuple(Session_(_t(a), _t(b)) for a, b in r["sessions"]),
            )
            for r in s["schedule"]
        )
        sites.append(
            Site(
                id=s["id"],
                name=s["name"],
                short=s.get("short", s["name"]),
                district=s["district"],
                address=s["address"],
                phone=str(s["phone"]),
                lat=float(s["lat"]),
                lng=float(s["lng"]),
                coord_status=s.get("coord_status", "approximate"),
                bookable=bool(s.get("bookable", False)),
                hours_text=s["hours_text"],
                rules=rules,
                aliases=tuple(s.get("aliases", ())),
                place=s.get("place"),
                walk_in_note=s.get("walk_in_note"),
            )
        )
    topics = tuple(
        Topic(t["kind"], t["label"], tuple(t.get("words", ())), t.get("elsewhere"))
        for t in raw.get("topics", ())
    )
    booking = raw.get("booking", {})
    return Config(
        sites=tuple(sites),
        topics=topics,
        slot_minutes=int(booking.get("slot_minutes", 15)),
        capacity_per_slot=int(booking.get("capacity_per_slot", 1)),
        days_ahead=int(booking.get("days_ahead", 14)),
        lead_minutes=int(booking.get("lead_minutes", 30)),
        by_id={s.id: s for s in sites},
    )


def sites() -> tuple[Site, ...]:
    return config().sites


def get_site(site_id: str | None) -> Site | None:
    return config().site(site_id)


def find_sites(text: str | None, district: str | None = None) -> list[Site]:
    """Sites named in the text (alias or name), else those in the given district."""
    text = text or ""
    named = [s for s in sites() if s.name in text or s.short in text or any(a in text for a in s.aliases)]
    if named:
        return named
    if district:
        return [s for s in sites() if s.district == district]
    return []


# --- time ------------------------------------------------------------------------


def local_now(now: datetime) -> datetime:
    return now.astimezone(TZ)


def today(now: datetime) -> date:
    return local_now(now).date()


def day_label(day: date) -> str:
    return f"{day.month}/{day.day}（{WEEKDAY_NAMES[day.weekday()]}）"


_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "七": 7}
_WEEKDAY = re.compile(r"(下下|下個|下|這個|這|本)?(?:週|周|星期|禮拜|礼拜)([一二三四五六日天1-7])")
_MONTH_DAY = re.compile(r"(?:(\d{4})\s*[年/\-.])?\s*(\d{1,2})\s*(?:月|/|-|\.)\s*(\d{1,2})\s*(?:日|號|号)?")


def parse_day(text: str | None, now: datetime) -> date | None:
    """A day named in the text (今天, 明天, 後天, 週三, 下週三, 12/5, 12月5日, 2026-12-05).

    A month/day without a year is this year's, or next year's when it is more
    than 60 days past (so 1/5 in December means next January, while a date a few
    days ago stays in the past and gets a clear "already past").
    """
    if not text:
        return None
    t = text.replace(" ", "")
    base = today(now)
    for word, delta in (
        ("大後天", 3),
        ("後天", 2),
        ("后天", 2),
        ("明天", 1),
        ("明日", 1),
        ("今天", 0),
        ("今日", 0),
        ("昨天", -1),
    ):
        if word in t:
            return base + timedelta(days=delta)
    m = _MONTH_DAY.search(t)
    if m:
        year = int(m.group(1)) if m.group(1) else base.year
        try:
            day = date(year, int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
        if not m.group(1) and (base - day).days > 60:
            try:
                day = date(year + 1, day.month, day.day)
            except ValueError:  # 2/29
                return None
        return day
    m = _WEEKDAY.search(t)
    if m:
        target = _CN_DIGITS.get(m.group(2)) or int(m.group(2))
        prefix = m.group(1) or ""
        if prefix in ("下", "下個"):
            # Next week's: the Monday after this week, then that weekday.
            monday = base - timedelta(days=base.weekday()) + timedelta(days=7)
            return monday + timedelta(days=target - 1)
        if prefix == "下下":
            monday = base - timedelta(days=base.weekday()) + timedelta(days=14)
            return monday + timedelta(days=target - 1)
        return base + timedelta(days=(target - base.isoweekday()) % 7)
    return None


# --- blocked dates and schedule ------------------------------------------------------


def blocked(session: Session, start: date, end: date) -> dict[date, dict[str | None, str | None]]:
    """{date: {site_id or None (all sites): reason}} for dates in [start, end]."""
    rows = session.scalars(
        select(LegalBlockedDate).where(LegalBlockedDate.date >= start, LegalBlockedDate.date <= end)
    ).all()
    out: dict[date, dict[str | None, str | None]] = {}
    for row in rows:
        out.setdefault(row.date, {})[row.site_id] = row.reason
    return out


def block_reason(
    blocks: dict[date, dict[str | None, str | None]], site: Site, day: date
) -> str | None | bool:
    """The reason a site is blocked on a day; False when it is not blocked."""
    entry = blocks.get(day, {})
    if site.id in entry:
        return entry[site.id]
    if None in entry:
        return entry[None]
    return False


def sessions_on(session: Session, site: Site, day: date) -> list[Session_]:
    """Sessions a site actually holds on a day (blocked dates removed)."""
    if block_reason(blocked(session, day, day), site, day) is not False:
        return []
    return site.sessions_on(day)


@dataclass(frozen=True)
class OpenSite:
    site: Site
    sessions: list[Session_]


def open_on(session: Session, day: date) -> tuple[list[OpenSite], list[tuple[Site, str | None]]]:
    """Sites holding sessions on a day, and the sites blocked that day (with reasons)."""
    blocks = blocked(session, day, day)
    open_sites: list[OpenSite] = []
    closed: list[tuple[Site, str | None]] = []
    for site in sites():
        sess = site.sessions_on(day)
        if not sess:
            continue
        reason = block_reason(blocks, site, day)
        if reason is not False:
            closed.append((site, reason or None))
        else:
            open_sites.append(OpenSite(site, sess))
    return open_sites, closed


def booking_days(session: Session, site: Site, now: datetime) -> list[date]:
    """The next `days_ahead` days (today included) on which the site has a bookable free slot."""
    cfg = config()
    start = today(now)
    end = start + timedelta(days=cfg.days_ahead - 1)
    blocks = blocked(session, start, end)
    days = []
    for i in range(cfg.days_ahead):
        day = start + timedelta(days=i)
        if site.sessions_on(day) and block_reason(blocks, site, day) is False:
            if free_slots(session, site, day, now):
                days.append(day)
    return days


def all_slots(site: Site, day: date) -> list[str]:
    step = timedelta(minutes=config().slot_minutes)
    out = []
    for s in site.sessions_on(day):
        cursor = datetime.combine(day, s.start)
        end = datetime.combine(day, s.end)
        while cursor + step <= end:
            out.append(cursor.strftime("%H:%M"))
            cursor += step
    return out


def slot_start(day: date, slot: str) -> datetime:
    return datetime.combine(day, _t(slot), tzinfo=TZ)


def taken_slots(session: Session, site: Site, day: date) -> set[str]:
    return set(
        session.scalars(
            select(LegalBooking.slot_start).where(
                LegalBooking.site_id == site.id, LegalBooking.date == day, LegalBooking.status == "booked"
            )
        )
    )


def free_slots(session: Session, site: Site, day: date, now: datetime) -> list[str]:
    if not sessions_on(session, site, day):
        return []
    taken = taken_slots(session, site, day)
    earliest = now + timedelta(minutes=config().lead_minutes)
    return [s for s in all_slots(site, day) if s not in taken and slot_start(day, s) >= earliest]


# --- nearest sites ------------------------------------------------------------------


@dataclass(frozen=True)
class Nearby:
    site: Site
    km: float
    status: str  # open_now | later_today | not_today
    note: str  # zh-TW: 開放中 / 今天 14:00 開始 / 下次 12/2（三）


def next_open_day(session: Session, site: Site, now: datetime, horizon: int = 62) -> date | None:
    start = today(now)
    blocks = blocked(session, start, start + timedelta(days=horizon))
    for i in range(horizon + 1):
        day = start + timedelta(days=i)
        sess = site.sessions_on(day)
        if not sess or block_reason(blocks, site, day) is not False:
            continue
        if i == 0 and all(datetime.combine(day, s.end, tzinfo=TZ) <= now for s in sess):
            continue
        return day
    return None


def site_status(session: Session, site: Site, now: datetime) -> tuple[str, str]:
    local = local_now(now)
    day = local.date()
    for s in sessions_on(session, site, day):
        start = datetime.combine(day, s.start, tzinfo=TZ)
        end = datetime.combine(day, s.end, tzinfo=TZ)
        if start <= local < end:
            return "open_now", f"現在開放中（至 {s.end:%H:%M}）"
        if local < start:
            return "later_today", f"今天 {s.start:%H:%M} 開始"
    nxt = next_open_day(session, site, now)
    if nxt is None:
        return "not_today", "近期無場次"
    return "not_today", f"下次 {day_label(nxt)}"


def nearest(session: Session, lat: float, lng: float, now: datetime, limit: int = 3) -> list[Nearby]:
    """Nearest sites: those open now or later today first, then by distance.

    Only sites within a reasonable trip are lifted by being open: an open site
    more than twice as far as the nearest one does not jump ahead of it.
    """
    rows = []
    for site in sites():
        km = data.distance_km(lat, lng, site.lat, site.lng)
        status, note = site_status(session, site, now)
        rows.append(Nearby(site, km, status, note))
    rows.sort(key=lambda r: r.km)
    closest = rows[0].km
    reach = max(2 * closest, closest + 5.0)
    rank = {"open_now": 0, "later_today": 1, "not_today": 2}
    rows.sort(key=lambda r: (0 if r.km <= reach else 1, rank[r.status], r.km))
    return rows[:limit]


# --- phone, name and topic --------------------------------------------------------------

_MOBILE = re.compile(r"^09\d{8}$")
_LANDLINE = re.compile(r"^0[2-8]\d{6,8}$")


def normalize_phone(raw: str | None) -> str | None:
    """A Taiwanese phone number in a canonical form, or None when it is not one.

    Mobile: 0912345678, 0912-345-678, +886 912 345 678, +886-9…  -> 0912-345-678
    Landline: (07)337-3686, 07-3373686, 02 2345 6789, +886 7 337 3686, with #ext -> 07-3373686#220
    """
    if not raw:
        return None
    s = raw.strip().translate(str.maketrans("０１２３４５６７８９＋＃（）－", "0123456789+#()-"))
    ext = ""
    m = re.search(r"(?:#|轉|分機|ext\.?|x)\s*(\d{1,6})\s*$", s, re.IGNORECASE)
    if m:
        ext = m.group(1)
        s = s[: m.start()]
    if re.search(r"[^\d\s()+\-.]", s):
        return None
    digits = re.sub(r"\D", "", s)
    if s.lstrip().startswith("+"):
        if not digits.startswith("886"):
            return None
        digits = "0" + digits[3:].lstrip("0")
    elif digits.startswith("886") and len(digits) >= 11:
        digits = "0" + digits[3:].lstrip("0")
    if _MOBILE.match(digits):
        if ext:
            return None
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if _LANDLINE.match(digits):
        # Area codes: 037, 049, 082, 089 ... are three digits; 02, 07 ... two.
        three = ("037", "049", "082", "089", "0836", "0826")
        area_len = 4 if digits.startswith(("0836", "0826")) else 3 if digits.startswith(three) else 2
        out = f"{digits[:area_len]}-{digits[area_len:]}"
        if len(digits) - area_len < 6:
            return None
        return f"{out}#{ext}" if ext else out
    return None


def topic_of(text: str | None) -> Topic | None:
    if not text:
        return None
    for topic in config().topics:
        if any(w in text for w in topic.words):
            return topic
    return None


# --- bookings ----------------------------------------------------------------------------


def check_day(session: Session, site: Site, day: date, now: datetime) -> None:
    """Raise BookingError (zh-TW) unless the site takes bookings on this day."""
    cfg = config()
    if not site.bookable:
        raise BookingError(f"{site.short}不需預約（{site.walk_in_note or '請現場登記'}）。")
    first = today(now)
    if day < first:
        raise BookingError(f"{day_label(day)} 已經過了，請選擇今天以後的日期。")
    if day > first + timedelta(days=cfg.days_ahead - 1):
        raise BookingError(f"只能預約 {cfg.days_ahead} 天內的時段，{day_label(day)} 還不能預約。")
    if not site.sessions_on(day):
        raise BookingError(f"{site.short} {day_label(day)} 沒有諮詢場次（{site.hours_text}）。")
    reason = block_reason(blocked(session, day, day), site, day)
    if reason is not False:
        raise BookingError(
            f"{site.short} {day_label(day)} 暫停諮詢{f'（{reason}）' if reason else ''}，請改選其他日期。"
        )


def check_slot(session: Session, site: Site, day: date, slot: str, now: datetime) -> None:
    """Raise BookingError (zh-TW) unless the slot can be booked (taken or not aside)."""
    cfg = config()
    check_day(session, site, day, now)
    if slot not in all_slots(site, day):
        raise BookingError(f"{slot} 不是 {site.short} 的諮詢時段。")
    if slot_start(day, slot) < now + timedelta(minutes=cfg.lead_minutes):
        raise BookingError(f"{day_label(day)} {slot} 已經過了或即將開始，請選擇較晚的時段。")


def book(
    session: Session,
    *,
    user_key: str,
    site_id: str,
    day: date,
    slot: str,
    name: str,
    phone: str,
    topic: str | None,
    now: datetime,
) -> LegalBooking:
    """Book a slot, or raise BookingError with the reason (zh-TW).

    The insert runs in a savepoint: when a concurrent booking took the slot (or
    this person already booked that day) the unique index refuses it and the
    rest of the caller's transaction goes on.
    """
    site = get_site(site_id)
    if site is None:
        raise BookingError("找不到這個諮詢地點，請重新選擇。")
    check_slot(session, site, day, slot, now)
    mine = _active_on(session, user_key, day)
    if mine is not None:
        other = get_site(mine.site_id)
        raise BookingError(
            f"您 {day_label(day)} 已預約 {other.short if other else mine.site_id} {mine.slot_start}，"
            "每人每天限預約一個時段。如要更改，請先取消原預約。"
        )
    found = topic_of(topic)
    booking = LegalBooking(
        site_id=site.id,
        date=day,
        slot_start=slot,
        user_key=user_key,
        name=name,
        phone=phone,
        topic=(topic or "")[:1000] or None,
        topic_kind=found.kind if found else None,
        status="booked",
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(booking)
            session.flush()
    except IntegrityError:
        if _active_on(session, user_key, day) is not None:
            raise BookingError("您這一天已經有預約了，每人每天限預約一個時段。") from None
        raise BookingError(f"很抱歉，{day_label(day)} {slot} 剛剛被其他人預約了，請改選其他時段。") from None
    log.info("legal booking %s at %s %s %s", booking.id, site.id, day, slot)
    return booking


def _active_on(session: Session, user_key: str, day: date) -> LegalBooking | None:
    return session.scalar(
        select(LegalBooking).where(
            LegalBooking.user_key == user_key, LegalBooking.date == day, LegalBooking.status == "booked"
        )
    )


def my_bookings(session: Session, user_key: str, now: datetime) -> list[LegalBooking]:
    return list(
        session.scalars(
            select(LegalBooking)
            .where(
                LegalBooking.user_key == user_key,
                LegalBooking.status == "booked",
                LegalBooking.date >= today(now),
            )
            .order_by(LegalBooking.date, LegalBooking.slot_start)
        )
    )


def cancel(session: Session, booking_id: int, user_key: str, now: datetime) -> LegalBooking:
    booking = session.get(LegalBooking, booking_id)
    if booking is None or booking.user_key != user_key:
        raise BookingError("找不到這筆預約。")
    if booking.status != "booked":
        raise BookingError("這筆預約已經取消了。")
    booking.status = "cancelled"
    booking.cancelled_at = now
    return booking


def describe(booking: LegalBooking) -> str:
    site = get_site(booking.site_id)
    where = f"{site.name}（{site.address}）" if site else booking.site_id
    return f"{day_label(booking.date)} {booking.slot_start}｜{where}"


# --- staff: block dates --------------------------------------------------------------------


def _notify(session: Session, user_key: str, replies: list[Reply]) -> None:
    from bot import outbox

    outbox.notify(session, user_key, replies)


def block_date(
    session: Session, day: date, site_id: str | None, reason: str | None, now: datetime
) -> tuple[LegalBlockedDate | None, list[LegalBooking]]:
    """Block a date (one site or all); bookings on it are released and told by push.

    Returns the new row (None when it was already blocked) and the affected bookings.
    """
    if site_id is not None and get_site(site_id) is None:
        raise BookingError(f"unknown site {site_id!r}")
    existing = session.scalar(
        select(LegalBlockedDate).where(
            LegalBlockedDate.date == day,
            LegalBlockedDate.site_id.is_(None) if site_id is None else LegalBlockedDate.site_id == site_id,
        )
    )
    row = None
    if existing is None:
        row = LegalBlockedDate(date=day, site_id=site_id, reason=reason, created_at=now)
        session.add(row)
    stmt = select(LegalBooking).where(LegalBooking.date == day, LegalBooking.status == "booked")
    if site_id is not None:
        stmt = stmt.where(LegalBooking.site_id == site_id)
    affected = list(session.scalars(stmt.with_for_update()))
    for booking in affected:
        # Conditional: a concurrent cancel or block changes nothing twice.
        changed = session.execute(
            update(LegalBooking)
            .where(LegalBooking.id == booking.id, LegalBooking.status == "booked")
            .values(status="blocked", cancelled_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            continue
        session.refresh(booking)
        why = f"（{reason}）" if reason else ""
        _notify(
            session,
            booking.user_key,
            [
                Text(
                    f"【法律諮詢異動通知】\n很抱歉，{describe(booking)} 因故暫停諮詢{why}，您的預約已取消。\n"
                    "請輸入「預約法律諮詢」改約其他日期，或電洽諮詢地點。"
                )
            ],
        )
    session.flush()
    return row, affected


def unblock_date(session: Session, day: date, site_id: str | None) -> int:
    rows = session.scalars(
        select(LegalBlockedDate).where(
            LegalBlockedDate.date == day,
            LegalBlockedDate.site_id.is_(None) if site_id is None else LegalBlockedDate.site_id == site_id,
        )
    ).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def bookings_on(session: Session, day: date | None, now: datetime) -> list[LegalBooking]:
    stmt = select(LegalBooking).order_by(LegalBooking.date, LegalBooking.site_id, LegalBooking.slot_start)
    if day is not None:
        stmt = stmt.where(LegalBooking.date == day)
    else:
        stmt = stmt.where(LegalBooking.date >= today(now), LegalBooking.status == "booked")
    return list(session.scalars(stmt))


# --- reminders -----------------------------------------------------------------------------

# Reminders go out the day before from this hour (no pushes in the night).
REMINDER_FROM_HOUR = 9


@periodic
def send_reminders(session: Session, now: datetime) -> None:
    """Push a reminder the day before each booking, once."""
    local = local_now(now)
    if local.hour < REMINDER_FROM_HOUR:
        return
    tomorrow = local.date() + timedelta(days=1)
    due = session.scalars(
        select(LegalBooking).where(
            LegalBooking.date == tomorrow, LegalBooking.status == "booked", LegalBooking.reminded_at.is_(None)
        )
    ).all()
    for booking in due:
        # Only the worker whose conditional update wins sends the reminder.
        won = session.execute(
            update(LegalBooking)
            .where(
                LegalBooking.id == booking.id,
                LegalBooking.reminded_at.is_(None),
                LegalBooking.status == "booked",
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not won:
            continue
        site = get_site(booking.site_id)
        phone = f"\n如需更改請電洽 {site.phone}，或輸入「我的法律諮詢預約」取消。" if site else ""
        _notify(
            session,
            booking.user_key,
            [
                Text(
                    f"【法律諮詢提醒】\n明天 {describe(booking)}\n請攜帶身分證件及相關資料，提早 10 分鐘報到。{phone}"
                )
            ],
        )


def as_utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


__all__ = [
    "BookingError",
    "Site",
    "block_date",
    "book",
    "cancel",
    "config",
    "find_sites",
    "nearest",
    "normalize_phone",
    "open_on",
    "parse_day",
    "sites",
]
