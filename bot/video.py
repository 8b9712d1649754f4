"""Sign-language video sessions (1999 手語視訊): queue, interpreters, outcomes, statistics.

A resident's request waits in a queue (or for a chosen time) until an interpreter
accepts it; the resident is then pushed the meeting link through the outbox, in
the same transaction as the acceptance, so a failing push is retried and never
lost. Requests never expire on their own. Queue moves are pushed to the people
still waiting (only changed positions, only during service hours).
"""

from __future__ import annotations

import logging
import secrets
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import data
from bot.jobs import periodic
from bot.messages import Choice, Reply, Text
from bot.models import VideoRequest

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Taipei")
WEEKDAY_NAMES = "一二三四五六日"
TOPICS = {"inquiry": "詢問", "petition": "陳情", "dispatch": "通報"}
OUTCOMES = {
    "answered": "已解答",
    "petition": "轉陳情案件",
    "dispatch": "轉派工案件",
    "referred": "轉介其他單位",
    "no_show": "民眾未上線",
    "other": "其他",
}
OPEN = ("waiting", "scheduled")
ACTIVE = ("waiting", "scheduled", "in_session")


class VideoError(Exception):
    """A request that cannot change as asked; str(error) says why (zh-TW)."""


# --- configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class ServiceConfig:
    hours: tuple[tuple[frozenset[int], tuple[tuple[time, time], ...]], ...]
    hours_text: str
    meeting_url: str
    average_session_minutes: int
    interpreters_on_duty: int
    schedule_days_ahead: int
    schedule_step_minutes: int
    closed_dates: frozenset[date] = frozenset()

    def sessions_on(self, day: date) -> list[tuple[time, time]]:
        if day in self.closed_dates:
            return []
        return sorted(s for days, sess in self.hours if day.isoweekday() in days for s in sess)


def _t(v: str) -> time:
    h, m = v.split(":")
    return time(int(h), int(m))


@lru_cache(maxsize=1)
def config() -> ServiceConfig:
    with data.path("video_service.yaml").open(encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return ServiceConfig(
        hours=tuple(
            (frozenset(h["weekdays"]), tuple((_t(a), _t(b)) for a, b in h["sessions"])) for h in raw["hours"]
        ),
        hours_text=raw["hours_text"],
        meeting_url=raw["meeting_url"],
        average_session_minutes=int(raw.get("average_session_minutes", 15)),
        interpreters_on_duty=max(1, int(raw.get("interpreters_on_duty", 1))),
        schedule_days_ahead=int(raw.get("schedule_days_ahead", 7)),
        schedule_step_minutes=int(raw.get("schedule_step_minutes", 30)),
        # YAML reads ISO dates as dates; quoted ones arrive as strings.
        closed_dates=frozenset(
            d if isinstance(d, date) else date.fromisoformat(str(d)) for d in raw.get("closed_dates") or ()
        ),
    )


def local(at: datetime) -> datetime:
    return at.astimezone(TZ)


def fmt(at: datetime) -> str:
    lt = local(at)
    return f"{lt.month}/{lt.day}（{WEEKDAY_NAMES[lt.weekday()]}）{lt:%H:%M}"


def in_hours(at: datetime) -> bool:
    lt = local(at)
    return any(a <= lt.time() < b for a, b in config().sessions_on(lt.date()))


def next_opening(at: datetime) -> datetime:
    """The next moment the service is open (now, when it is open)."""
    if in_hours(at):
        return at
    lt = local(at)
    for i in range(0, 15):
        day = lt.date() + timedelta(days=i)
        for a, _ in config().sessions_on(day):
            start = datetime.combine(day, a, tzinfo=TZ)
            if start > lt:
                return start.astimezone(UTC)
    raise RuntimeError("video service has no opening hours configured")


def schedule_options(now: datetime) -> list[datetime]:
    """Times a session can be booked for: service hours in the next days, steps of N minutes."""
    cfg = config()
    step = timedelta(minutes=cfg.schedule_step_minutes)
    earliest = now + timedelta(minutes=60)
    out = []
    start_day = local(now).date()
    for i in range(cfg.schedule_days_ahead + 1):
        day = start_day + timedelta(days=i)
        for a, b in cfg.sessions_on(day):
            cursor = datetime.combine(day, a, tzinfo=TZ)
            end = datetime.combine(day, b, tzinfo=TZ)
            while cursor + step <= end:
                if cursor >= earliest:
                    out.append(cursor.astimezone(UTC))
                cursor += step
    return out


def meeting_url(template: str | None, request: VideoRequest) -> str:
    url = template or config().meeting_url
    if "{room}" in url:
        url = url.replace("{room}", f"{request.id}-{secrets.token_urlsafe(9)}")
    return url


# --- queue ---------------------------------------------------------------------------


def _notify(session: Session, user_key: str, replies: list[Reply]) -> None:
    from bot import outbox

    outbox.notify(session, user_key, replies)


def cancel_choice(request_id: int) -> Choice:
    from handlers.base import postback

    return Choice(
        label="取消視訊需求",
        text="取消視訊需求",
        data=postback(intent="sign_language_video", a="cancel", r=request_id),
        action="postback",
    )


def active_request(session: Session, user_key: str) -> VideoRequest | None:
    return session.scalar(
        select(VideoRequest)
        .where(VideoRequest.user_key == user_key, VideoRequest.status.in_(ACTIVE))
        .order_by(VideoRequest.id.desc())
    )


def waiting_queue(session: Session) -> list[VideoRequest]:
    return list(
        session.scalars(
            select(VideoRequest).where(VideoRequest.status == "waiting").order_by(VideoRequest.id)
        )
    )


def position(session: Session, request: VideoRequest) -> int:
    """1-based place in the queue of requests waiting now."""
    ahead = session.scalar(
        select(func.count())
        .select_from(VideoRequest)
        .where(VideoRequest.status == "waiting", VideoRequest.id < request.id)
    )
    return int(ahead or 0) + 1


def expected_wait_minutes(pos: int) -> int:
    cfg = config()
    # Everyone ahead of you plus a session possibly in progress, shared by the interpreters.
    return max(1, round(pos * cfg.average_session_minutes / cfg.interpreters_on_duty))


def queue_text(pos: int) -> str:
    return f"您目前排第 {pos} 位，預計等候約 {expected_wait_minutes(pos)} 分鐘。"


def create(
    session: Session,
    *,
    user_key: str,
    channel: str,
    mode: str,
    topic: str | None,
    now: datetime,
    scheduled_for: datetime | None = None,
) -> tuple[VideoRequest, list[Reply]]:
    """Take a request (now or at a time); the replies tell the resident what happens next."""
    existing = active_request(session, user_key)
    if existing is not None:
        raise VideoError(f"您已經有一個進行中的手語視訊需求（編號 V{existing.id}）。")
    if topic is not None and topic not in TOPICS:
        topic = None
    request = VideoRequest(
        user_key=user_key,
        channel=channel,
        mode=mode,
        topic=topic,
        status="scheduled" if mode == "scheduled" else "waiting",
        scheduled_for=scheduled_for,
        outside_hours=mode == "now" and not in_hours(now),
        created_at=now,
    )
    session.add(request)
    session.flush()
    cfg = config()
    if mode == "scheduled":
        assert scheduled_for is not None
        text = (
            f"已預約手語視訊（編號 V{request.id}）：{fmt(scheduled_for)}。\n"
            "時間到時，手語翻譯員會在這裡傳視訊連結給您。"
        )
    elif request.outside_hours:
        opening = next_opening(now)
        text = (
            f"現在不是服務時間（{cfg.hours_text}）。\n"
            f"已收到您的需求（編號 V{request.id}），會在 {fmt(opening)} 開始服務後依序聯絡您，"
            "視訊連結會傳到這裡。\n需求不會過期，不用再重新申請。"
        )
        request.last_position = None
    else:
        pos = position(session, request)
        request.last_position = pos
        text = f"已為您排隊（編號 V{request.id}）。{queue_text(pos)}\n輪到您時，手語翻譯員會在這裡傳視訊連結給您，排隊有變動也會通知您。"
    text += "\n緊急事故請傳簡訊至 119 或 110。"
    return request, [Text(text, (cancel_choice(request.id),))]


def push_positions(session: Session, now: datetime) -> int:
    """Tell people waiting their new place when it changed. Service hours only
    (outside them nobody moves; the opening push comes from the periodic job)."""
    if not in_hours(now):
        return 0
    pushed = 0
    for pos, request in enumerate(waiting_queue(session), 1):
        if request.last_position == pos:
            continue
        first = request.last_position is None
        # Conditional: two workers moving the queue push each change once.
        changed = session.execute(
            update(VideoRequest)
            .where(
                VideoRequest.id == request.id,
                VideoRequest.status == "waiting",
                (VideoRequest.last_position.is_(None)) | (VideoRequest.last_position != pos),
            )
            .values(last_position=pos)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            continue
        # Those who asked outside hours hear first that the service has opened.
        head = "手語視訊服務時間開始了。" if first and request.outside_hours else ""
        _notify(
            session,
            request.user_key,
            [Text(f"{head}【排隊更新】V{request.id}：{queue_text(pos)}", (cancel_choice(request.id),))],
        )
        pushed += 1
    return pushed


@periodic
def queue_updates(session: Session, now: datetime) -> None:
    """At opening (and whenever positions drifted), push each waiting resident their place."""
    push_positions(session, now)


# A scheduled session's reminder goes out this long before its time.
REMIND_BEFORE = timedelta(minutes=10)


@periodic
def scheduled_reminders(session: Session, now: datetime) -> None:
    """Remind residents of a scheduled session shortly before it (once)."""
    due = session.scalars(
        select(VideoRequest).where(
            VideoRequest.status == "scheduled",
            VideoRequest.reminded_at.is_(None),
            VideoRequest.scheduled_for <= now + REMIND_BEFORE,
        )
    ).all()
    for request in due:
        won = session.execute(
            update(VideoRequest)
            .where(
                VideoRequest.id == request.id,
                VideoRequest.status == "scheduled",
                VideoRequest.reminded_at.is_(None),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not won:
            continue
        _notify(
            session,
            request.user_key,
            [
                Text(
                    f"【手語視訊提醒】您預約的 {fmt(request.scheduled_for or now)} 快到了（V{request.id}）。\n"
                    "手語翻譯員會在這裡傳視訊連結給您，請留意訊息。",
                    (cancel_choice(request.id),),
                )
            ],
        )


def cancel(session: Session, request_id: int, user_key: str, now: datetime) -> VideoRequest:
    request = _locked(session, request_id)
    if request is None or request.user_key != user_key:
        raise VideoError("找不到這個視訊需求。")
    if request.status == "cancelled":
        raise VideoError(f"視訊需求 V{request.id} 已經取消了。")
    if request.status == "done":
        raise VideoError(f"視訊需求 V{request.id} 已經結束了。")
    was_waiting = request.status == "waiting"
    request.status = "cancelled"
    request.cancelled_at = now
    session.flush()
    if was_waiting:
        push_positions(session, now)
    return request


def _locked(session: Session, request_id: int) -> VideoRequest | None:
    stmt = select(VideoRequest).where(VideoRequest.id == request_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    # SQLite: BEGIN IMMEDIATE already serializes writers.
    return session.scalar(stmt.execution_options(populate_existing=True))


# --- interpreters ----------------------------------------------------------------------


def accept(
    session: Session, request_id: int, interpreter: str, now: datetime, url_template: str | None = None
) -> VideoRequest:
    """An interpreter takes a request: the resident is pushed the link at once."""
    request = _locked(session, request_id)
    if request is None:
        raise VideoError(f"沒有編號 V{request_id} 的視訊需求。")
    if request.status == "cancelled":
        raise VideoError(f"V{request.id} 已由民眾取消（{fmt(request.cancelled_at or now)}），無法接受。")
    if request.status == "in_session":
        raise VideoError(f"V{request.id} 已由 {request.interpreter} 接受。")
    if request.status == "done":
        raise VideoError(f"V{request.id} 已經結束。")
    interpreter = (interpreter or "").strip()
    if not interpreter:
        raise VideoError("請提供手語翻譯員姓名（--interpreter）。")
    was_waiting = request.status == "waiting"
    request.status = "in_session"
    request.interpreter = interpreter[:64]
    request.accepted_at = now
    request.meeting_url = meeting_url(url_template, request)
    session.flush()
    _notify(
        session,
        request.user_key,
        [
            Text(
                f"手語翻譯員 {request.interpreter} 已準備好（V{request.id}）。\n請點下方「開始視訊」進入視訊：\n{request.meeting_url}",
                (Choice(label="開始視訊", action="uri", uri=request.meeting_url),),
            )
        ],
    )
    if was_waiting:
        push_positions(session, now)
    log.info("video request %s accepted by interpreter", request.id)
    return request


def end(session: Session, request_id: int, outcome: str, note: str | None, now: datetime) -> VideoRequest:
    if outcome not in OUTCOMES:
        raise VideoError(f"outcome 必須是 {', '.join(OUTCOMES)} 其中之一。")
    request = _locked(session, request_id)
    if request is None:
        raise VideoError(f"沒有編號 V{request_id} 的視訊需求。")
    if request.status != "in_session":
        raise VideoError(f"V{request.id} 目前狀態為 {request.status}，只有進行中的視訊可以結束。")
    request.status = "done"
    request.ended_at = now
    request.outcome = outcome
    request.note = (note or "")[:2000] or None
    session.flush()
    _notify(
        session, request.user_key, [Text(f"手語視訊（V{request.id}）已結束，謝謝您。還有需要隨時再找我們。")]
    )
    return request


def to_case(
    session: Session,
    request_id: int,
    kind: str,
    description: str | None,
    actor: str | None,
    now: datetime,
    *,
    category: str | None = None,
    district: str | None = None,
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
):
    """Open a petition (P) or dispatch (D) case on the resident's behalf, tracked like any other.

    A dispatch case needs what routing needs: a category and where (a district, an
    address naming one, or coordinates in the city). The actor defaults to the interpreter
    who took the session."""
    import data
    from bot import cases
    from intents.normalize import fold
    from intents.slots import extract_district

    request = _locked(session, request_id)
    if request is None:
        raise VideoError(f"沒有編號 V{request_id} 的視訊需求。")
    if request.status not in ("in_session", "done"):
        raise VideoError(f"V{request.id} 尚未進行視訊，無法建立案件。")
    if request.case_number:
        raise VideoError(f"V{request.id} 已建立案件 {request.case_number}。")
    letter = {"petition": "P", "dispatch": "D"}.get(kind)
    if letter is None:
        raise VideoError("kind 必須是 petition 或 dispatch。")
    approximate = False
    if letter == "D":
        if category not in cases.CATEGORIES:
            raise VideoError(f"派工案件需要類別（--category：{'、'.join(cases.CATEGORIES)}）。")
        if latitude is not None and longitude is not None:
            found = data.nearest_district(latitude, longitude)
            if found is None:
                raise VideoError("這個座標不在高雄市內。")
            district = district or found.name
        else:
            district = district or (extract_district(fold(address)) if address else None)
            centre = data.district_centroid(district)
            if centre is None:
                raise VideoError("派工案件需要地點：--district、含行政區的 --address，或 --lat/--lng。")
            latitude, longitude = centre
            approximate = True
    case, code, _ = cases.create_case(
        session,
        cases.NewCase(
            kind=letter,
            source=request.channel,
            category=category if letter == "D" else None,
            description=description or f"手語視訊服務 V{request.id} 代為登錄",
            latitude=latitude if letter == "D" else None,
            longitude=longitude if letter == "D" else None,
            location_approximate=approximate,
            address=address,
            district=district,
            reporter_key=request.user_key,
        ),
        now,
        actor=actor or f"interpreter:{request.interpreter or 'unknown'}",
    )
    request.case_number = case.number
    if request.status == "done" and request.outcome in (None, "answered", "other"):
        request.outcome = kind
    _notify(
        session,
        request.user_key,
        [
            Text(
                f"手語翻譯員已為您登錄{'陳情' if letter == 'P' else '通報'}案件：{case.number}\n"
                f"查詢驗證碼：{code}（請保存）\n處理有進度時會通知您。"
            )
        ],
    )
    return case


# --- statistics ---------------------------------------------------------------------------


def stats(session: Session, month: str | None = None) -> list[dict]:
    """Per month (Asia/Taipei): requests, sessions held, cancelled, waiting times, outcomes."""
    rows = session.scalars(select(VideoRequest).order_by(VideoRequest.id)).all()
    months: dict[str, list[VideoRequest]] = {}
    for r in rows:
        key = f"{local(r.created_at):%Y-%m}"
        if month and key != month:
            continue
        months.setdefault(key, []).append(r)
    out = []
    for key in sorted(months):
        group = months[key]
        waits = [
            (r.accepted_at - r.created_at).total_seconds() / 60
            for r in group
            if r.accepted_at and r.mode == "now" and not r.outside_hours
        ]
        durations = [
            (r.ended_at - r.accepted_at).total_seconds() / 60 for r in group if r.ended_at and r.accepted_at
        ]
        outcomes: dict[str, int] = {}
        for r in group:
            if r.outcome:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        out.append(
            {
                "month": key,
                "requests": len(group),
                "sessions": sum(1 for r in group if r.accepted_at),
                "completed": sum(1 for r in group if r.status == "done"),
                "cancelled": sum(1 for r in group if r.status == "cancelled"),
                "open": sum(1 for r in group if r.status in ACTIVE),
                "outside_hours": sum(1 for r in group if r.outside_hours),
                "scheduled": sum(1 for r in group if r.mode == "scheduled"),
                "wait_minutes_avg": round(statistics.mean(waits), 1) if waits else None,
                "wait_minutes_median": round(statistics.median(waits), 1) if waits else None,
                "wait_minutes_max": round(max(waits), 1) if waits else None,
                "session_minutes_avg": round(statistics.mean(durations), 1) if durations else None,
                "outcomes": outcomes,
                "by_topic": {t: sum(1 for r in group if r.topic == t) for t in TOPICS},
            }
        )
    return out
