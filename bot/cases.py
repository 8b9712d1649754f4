"""The case service: numbering, the status flow, routing, duplicates, followers,
notifications, verification codes, the lookup lockout and the overdue job.

Handlers, the staff API, the CLI and Open311 all change cases through here, inside
the caller's transaction (the caller commits once).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import data
from bot.jobs import periodic
from bot.messages import Reply, Text
from bot.models import Case, CaseCounter, CaseFollower, CaseHistory, CaseLookupFailure, CasePhoto

TAIPEI = ZoneInfo("Asia/Taipei")

# --- the status flow, defined once ------------------------------------------------------

RECEIVED, ASSIGNED, IN_PROGRESS, DONE, CLOSED, NEEDS_INFO, DUPLICATE = (
    "received",
    "assigned",
    "in_progress",
    "done",
    "closed",
    "needs_info",
    "duplicate",
)
STATUS_LABELS: dict[str, str] = {
    RECEIVED: "已受理",
    ASSIGNED: "已分派",
    IN_PROGRESS: "處理中",
    DONE: "已完成",
    CLOSED: "已結案",
    NEEDS_INFO: "待補正",
    DUPLICATE: "重複",
}
TRANSITIONS: dict[str, frozenset[str]] = {
    RECEIVED: frozenset({ASSIGNED, IN_PROGRESS, NEEDS_INFO, DUPLICATE, CLOSED}),
    ASSIGNED: frozenset({IN_PROGRESS, DONE, NEEDS_INFO, DUPLICATE, CLOSED}),
    IN_PROGRESS: frozenset({DONE, NEEDS_INFO, CLOSED}),
    NEEDS_INFO: frozenset({RECEIVED, ASSIGNED, IN_PROGRESS, CLOSED}),
    DONE: frozenset({CLOSED, IN_PROGRESS}),  # reopened when the repair did not hold
    DUPLICATE: frozenset({CLOSED}),
    CLOSED: frozenset(),
}
# Statuses in which the city still owes the resident something.
OPEN_STATUSES = frozenset({RECEIVED, ASSIGNED, IN_PROGRESS, NEEDS_INFO})

CATEGORIES = ("pothole", "streetlight", "traffic_signal", "fallen_tree")

DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(days=7)
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
DESCRIPTION_MAX = 500
PHOTO_MAX_BYTES = 10 * 1024 * 1024

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed
CODE_LENGTH = 6


class CaseError(Exception):
    """A change that cannot be made; `message` is zh-TW, `code` machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def parse_status(value: str) -> str | None:
    """A status from its code (in_progress) or its zh-TW label (處理中)."""
    value = (value or "").strip()
    if value in STATUS_LABELS:
        return value
    for code, label in STATUS_LABELS.items():
        if value == label:
            return code
    return None


# --- routing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    category: str
    category_name: str
    agency: str
    unit: str | None
    phone: str | None
    deadline: timedelta


@lru_cache(maxsize=1)
def _routing() -> dict:
    with data.path("routing.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def category_name(category: str | None) -> str:
    if not category:
        return "—"
    entry = _routing()["categories"].get(category)
    return entry["name"] if entry else category


def route(category: str, district: str | None) -> Route:
    entry = _routing()["categories"][category]
    unit, phone = entry.get("unit"), entry.get("phone")
    for name, team in (entry.get("units") or {}).items():
        if district in team["districts"]:
            unit, phone = name, team["phone"]
            break
    return Route(
        category,
        entry["name"],
        entry["agency"],
        unit,
        phone,
        timedelta(hours=float(entry.get("deadline_hours", 4))),
    )


# --- geography ------------------------------------------------------------------------


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return data.distance_km(lat1, lng1, lat2, lng2) * 1000.0


def district_for_point(lat: float, lng: float, address: str | None = None) -> str | None:
    """The district of a point in Kaohsiung, or None when it lies outside the city.

    The address LINE attaches wins when it names a district; otherwise the nearest
    district centre (data.nearest_district)."""
    from intents.normalize import fold
    from intents.slots import extract_district

    if address:
        if data.names_other_city(address):
            return None
        if "高雄" in address and (district := extract_district(fold(address))):
            return district
    best = data.nearest_district(lat, lng)
    return best.name if best else None


# --- text and photos --------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")


def clean_description(text: str | None, limit: int = DESCRIPTION_MAX) -> tuple[str | None, bool]:
    """Tags stripped, entities decoded, whitespace tidied, capped; (text, was_cut)."""
    if not text:
        return None, False
    cleaned = _TAG.sub(" ", text)
    cleaned = html.unescape(cleaned)
    cleaned = _TAG.sub(" ", cleaned)  # entities that decoded into tags
    cleaned = "".join(ch for ch in cleaned if ch.isprintable() or ch in "\n")
    cleaned = re.sub(r"[ \t\u3000]+", " ", cleaned)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned).strip()
    if not cleaned:
        return None, False
    if len(cleaned) > limit:
        return cleaned[:limit], True
    return cleaned, False


def store_pending_photo(
    session: Session, user_key: str, blob: bytes, content_type: str, now: datetime
) -> int:
    photo = CasePhoto(
        user_key=user_key,
        content_type=content_type,
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        data=blob,
        created_at=now,
    )
    session.add(photo)
    session.flush()
    return photo.id


# --- numbers and codes ------------------------------------------------------------------


def _dialect_insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def lock_counter(session: Session, kind: str, year: int) -> None:
    """Make sure the counter row exists, then lock it until the transaction ends.

    Every creation of this kind and year queues here, so the duplicate search that
    follows sees the cases committed just before (two residents, same pothole, same
    second) and the numbers come out unique and without gaps. (SQLite: the whole
    transaction already holds the write lock from BEGIN IMMEDIATE.)"""
    insert = _dialect_insert(session)
    session.execute(insert(CaseCounter).values(kind=kind, year=year, last=0).on_conflict_do_nothing())
    session.execute(
        select(CaseCounter.last).where(CaseCounter.kind == kind, CaseCounter.year == year).with_for_update()
    )


def next_number(session: Session, kind: str, year: int) -> str:
    lock_counter(session, kind, year)
    seq = session.execute(
        update(CaseCounter)
        .where(CaseCounter.kind == kind, CaseCounter.year == year)
        .values(last=CaseCounter.last + 1)
        .returning(CaseCounter.last)
    ).scalar_one()
    return f"{kind}{year}-{seq:06d}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _code_hash(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code.strip().upper()}".encode()).hexdigest()


def code_matches(case: Case | None, code: str) -> bool:
    """Constant-time check; an unknown case costs the same as a wrong code."""
    expected = case.verify_hash if case is not None else "0" * 64
    given = _code_hash(case.number if case is not None else "", code or "")
    return hmac.compare_digest(expected, given) and case is not None


CODE_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z])([{CODE_ALPHABET}]{{{CODE_LENGTH}}})(?![0-9A-Za-z])", re.IGNORECASE
)


def extract_code(text: str, number: str | None = None) -> str | None:
    """A verification code typed after (or without) a case number."""
    rest = (text or "").upper()
    if number:
        rest = re.sub(r"[PD][-\s]?\d{4}[-\s]?\d{6}", " ", rest)
    m = CODE_PATTERN.search(rest)
    return m.group(1).upper() if m else None


# --- creating ---------------------------------------------------------------------------


@dataclass
class NewCase:
    kind: str  # D | P
    source: str
    category: str | None = None
    description: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    location_approximate: bool = False
    address: str | None = None
    district: str | None = None
    reporter_key: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    media_url: str | None = None
    photo_ids: tuple[int, ...] = ()


def find_duplicates(
    session: Session, category: str, lat: float, lng: float, now: datetime, limit: int = 3
) -> list[Case]:
    """Open cases of the category within ~50 m reported in the last 7 days, nearest first.

    Only exact points count: a typed address stands at its district's centre, and two
    reports placed there are no more likely to be one problem than any two in the district."""
    dlat = DUPLICATE_RADIUS_M / 111_320.0
    dlng = DUPLICATE_RADIUS_M / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = session.scalars(
        select(Case).where(
            Case.category == category,
            Case.created_at >= now - DUPLICATE_WINDOW,
            Case.latitude.between(lat - dlat, lat + dlat),
            Case.longitude.between(lng - dlng, lng + dlng),
            Case.status.in_(OPEN_STATUSES),
            Case.location_approximate.is_(False),
        )
    ).all()
    near = [
        (distance_m(lat, lng, c.latitude, c.longitude), c)
        for c in rows
        if c.latitude is not None and c.longitude is not None
    ]
    near = [(d, c) for d, c in near if d <= DUPLICATE_RADIUS_M]
    near.sort(key=lambda x: (x[0], -x[1].id))
    return [c for _, c in near[:limit]]


def create_case(
    session: Session,
    new: NewCase,
    now: datetime,
    *,
    check_duplicates: bool = False,
    actor: str = "system",
) -> tuple[Case | None, str | None, list[Case]]:
    """Create and route a case: (case, verification code, []) — or, when
    `check_duplicates` finds open cases nearby, (None, None, duplicates) and nothing
    is created (the counter lock is held to the end of the transaction either way)."""
    year = now.astimezone(TAIPEI).year
    lock_counter(session, new.kind, year)
    exact_point = new.latitude is not None and new.longitude is not None and not new.location_approximate
    if check_duplicates and new.category and exact_point:
        duplicates = find_duplicates(session, new.category, new.latitude, new.longitude, now)
        if duplicates:
            return None, None, duplicates
    number = next_number(session, new.kind, year)
    code = new_code()
    case = Case(
        number=number,
        kind=new.kind,
        category=new.category,
        description=new.description,
        latitude=new.latitude,
        longitude=new.longitude,
        location_approximate=new.location_approximate,
        address=new.address,
        district=new.district,
        source=new.source,
        reporter_key=new.reporter_key,
        contact_name=new.contact_name,
        contact_email=new.contact_email,
        contact_phone=new.contact_phone,
        media_url=new.media_url,
        status=RECEIVED,
        overdue=False,
        verify_hash=_code_hash(number, code),
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseHistory(case_id=case.id, at=now, kind="status", to_status=RECEIVED, actor=actor, note="案件成立")
    )
    if new.photo_ids:
        session.execute(
            update(CasePhoto)
            .where(CasePhoto.id.in_(new.photo_ids), CasePhoto.case_id.is_(None))
            .values(case_id=case.id)
        )
    if new.kind == "D" and new.category in CATEGORIES:
        r = route(new.category, new.district)
        case.agency, case.unit, case.agency_phone = r.agency, r.unit, r.phone
        case.due_at = now + r.deadline
        # Routing is part of creating: the resident hears the agency in the reply,
        # so this first change is recorded but not pushed.
        _set_status(session, case, ASSIGNED, now, actor="routing", note=f"分派至{r.agency}{r.unit or ''}")
    session.flush()
    return case, code, []


# --- changing ---------------------------------------------------------------------------


def _set_status(session: Session, case: Case, to: str, now: datetime, actor: str, note: str | None) -> None:
    session.add(
        CaseHistory(
            case_id=case.id,
            at=now,
            kind="status",
            from_status=case.status,
            to_status=to,
            note=note,
            actor=actor,
        )
    )
    case.status = to
    case.updated_at = now


def get_case(session: Session, number: str, *, lock: bool = False) -> Case | None:
    stmt = select(Case).where(Case.number == (number or "").strip().upper())
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def recipients(session: Session, case: Case) -> list[str]:
    """Reporter then followers, each once; only people reachable in a chat channel."""
    keys: list[str] = []
    if case.reporter_key and case.source in ("line", "web", "console"):
        keys.append(case.reporter_key)
    for key in session.scalars(
        select(CaseFollower.user_key).where(CaseFollower.case_id == case.id).order_by(CaseFollower.created_at)
    ):
        if key not in keys:
            keys.append(key)
    return keys


def _notify(session: Session, case: Case, replies: list[Reply]) -> None:
    from bot import outbox

    for key in recipients(session, case):
        outbox.notify(session, key, replies)


def update_case(
    session: Session,
    number: str,
    now: datetime,
    *,
    status: str | None = None,
    note: str | None = None,
    agency: str | None = None,
    unit: str | None = None,
    actor: str = "staff",
    duplicate_of: str | None = None,
) -> Case:
    """A staff change: status (checked against the flow), note, agency. Raises CaseError."""
    if status is None and not note and agency is None and unit is None and not duplicate_of:
        raise CaseError("nothing_to_change", "請指定要更新的狀態、備註或機關")
    case = get_case(session, number, lock=True)
    if case is None:
        raise CaseError("not_found", f"查無案件 {number}")
    if status is not None:
        to = parse_status(status)
        if to is None:
            raise CaseError("bad_status", f"未知的狀態 {status}；可用：{', '.join(STATUS_LABELS)}")
        if to != case.status and to not in TRANSITIONS[case.status]:
            allowed = "、".join(f"{status_label(s)}({s})" for s in sorted(TRANSITIONS[case.status])) or "無"
            raise CaseError(
                "bad_transition",
                f"案件 {case.number} 目前為「{status_label(case.status)}」，不能改為「{status_label(to)}」（可改為：{allowed}）",
            )
    else:
        to = None
    if note is not None:
        note, _ = clean_description(note, limit=2000)
    if agency is not None or unit is not None:
        before = f"{case.agency or ''}{case.unit or ''}"
        if agency is not None:
            case.agency = agency.strip()[:64] or None
        if unit is not None:
            case.unit = unit.strip()[:64] or None
        session.add(
            CaseHistory(
                case_id=case.id, at=now, kind="agency", actor=actor,
                note=f"{before} → {case.agency or ''}{case.unit or ''}",
            )
        )  # fmt: skip
        case.updated_at = now
    if duplicate_of:
        other = get_case(session, duplicate_of)
        if other is None or other.id == case.id:
            raise CaseError("not_found", f"查無案件 {duplicate_of}")
        case.duplicate_of_id = other.id
    if to is not None and to != case.status:
        _set_status(session, case, to, now, actor=actor, note=note)
        _notify(session, case, [status_message(case, note)])
    elif note:
        session.add(CaseHistory(case_id=case.id, at=now, kind="note", note=note, actor=actor))
        case.updated_at = now
    session.flush()
    return case


def status_message(case: Case, note: str | None) -> Text:
    text = f"您關注的案件 {case.number}（{category_name(case.category)}）狀態更新為「{status_label(case.status)}」。"
    if note:
        text += f"\n說明：{note[:200]}"
    return Text(text)


def follow(session: Session, case: Case, user_key: str, now: datetime) -> bool:
    """Add a follower; False when already following (or the reporter)."""
    if user_key == case.reporter_key:
        return False
    if session.get(CaseFollower, (case.id, user_key)) is not None:
        return False
    session.add(CaseFollower(case_id=case.id, user_key=user_key, created_at=now))
    session.add(CaseHistory(case_id=case.id, at=now, kind="follow", actor="resident", note="新增追蹤者"))
    session.flush()
    return True


# --- reading ----------------------------------------------------------------------------


def cases_of(session: Session, user_key: str, limit: int = 5) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .where(Case.reporter_key == user_key)
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(limit)
        )
    )


def last_note(session: Session, case: Case) -> str | None:
    return session.scalar(
        select(CaseHistory.note)
        .where(CaseHistory.case_id == case.id, CaseHistory.note.is_not(None), CaseHistory.kind != "follow")
        .order_by(CaseHistory.id.desc())
        .limit(1)
    )


def lookup_locked(session: Session, user_key: str, now: datetime) -> timedelta | None:
    """How long the user must wait, when 5 lookups failed in the last 15 minutes."""
    times = list(
        session.scalars(
            select(CaseLookupFailure.at)
            .where(CaseLookupFailure.user_key == user_key, CaseLookupFailure.at > now - LOCKOUT_WINDOW)
            .order_by(CaseLookupFailure.at.desc())
            .limit(LOCKOUT_FAILURES)
        )
    )
    if len(times) < LOCKOUT_FAILURES:
        return None
    return times[-1] + LOCKOUT_WINDOW - now


def record_lookup_failure(session: Session, user_key: str, now: datetime) -> None:
    session.add(CaseLookupFailure(user_key=user_key, at=now))
    session.flush()


def format_due(due: datetime | None, now: datetime) -> str:
    """Asia/Taipei, relative day when near: 今天 15:30 前 / 明天 09:00 前 / 11/28 09:00 前."""
    if due is None:
        return "—"
    local, today = due.astimezone(TAIPEI), now.astimezone(TAIPEI).date()
    days = (local.date() - today).days
    day = {0: "今天", 1: "明天", -1: "昨天"}.get(days, f"{local.month}/{local.day}")
    return f"{day} {local:%H:%M} 前"


def format_local(at: datetime) -> str:
    return at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def case_summary(session: Session, case: Case, now: datetime) -> str:
    lines = [
        f"案號：{case.number}",
        f"類別：{category_name(case.category)}",
        f"狀態：{status_label(case.status)}" + ("（已逾期）" if case.overdue else ""),
        f"受理時間：{format_local(case.created_at)}",
    ]
    if case.agency:
        lines.append(
            f"承辦機關：{case.agency}{case.unit or ''}"
            + (f"（{case.agency_phone}）" if case.agency_phone else "")
        )
    if case.due_at and case.status in OPEN_STATUSES:
        lines.append(f"處理期限：{format_due(case.due_at, now)}")
    if note := last_note(session, case):
        lines.append(f"最新說明：{note[:100]}")
    return "\n".join(lines)


def case_dict(session: Session, case: Case, *, history: bool = False, include_reporter: bool = True) -> dict:
    """JSON for the staff API and the CLI."""
    out = {
        "number": case.number,
        "kind": case.kind,
        "category": case.category,
        "category_name": category_name(case.category),
        "status": case.status,
        "status_label": status_label(case.status),
        "description": case.description,
        "latitude": case.latitude,
        "longitude": case.longitude,
        "location_approximate": case.location_approximate,
        "address": case.address,
        "district": case.district,
        "agency": case.agency,
        "unit": case.unit,
        "agency_phone": case.agency_phone,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "overdue": case.overdue,
        "source": case.source,
        "photos": len(case.photos),
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }
    if include_reporter:
        out["reporter_key"] = case.reporter_key
        out["contact"] = {"name": case.contact_name, "email": case.contact_email, "phone": case.contact_phone}
    if history:
        out["history"] = [
            {
                "at": h.at.isoformat(),
                "kind": h.kind,
                "from_status": h.from_status,
                "to_status": h.to_status,
                "note": h.note,
                "actor": h.actor,
            }
            for h in case.history
        ]
    return out


def list_cases(
    session: Session,
    *,
    status: str | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    stmt = select(Case)
    if status:
        code = parse_status(status)
        if code is None:
            raise CaseError("bad_status", f"未知的狀態 {status}")
        stmt = stmt.where(Case.status == code)
    if category:
        stmt = stmt.where(Case.category == category)
    if overdue is not None:
        stmt = stmt.where(Case.overdue.is_(overdue))
    stmt = (
        stmt.order_by(Case.created_at.desc(), Case.id.desc())
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    )
    return list(session.scalars(stmt))


def count_cases(session: Session) -> int:
    return session.scalar(select(func.count(Case.id))) or 0


# --- periodic ---------------------------------------------------------------------------


@periodic
def mark_overdue(session: Session, now: datetime) -> None:
    """Flag open cases past their due time once, with a history entry (no status change).

    The UPDATE is conditional on `overdue = false`, so concurrent workers mark each case once."""
    candidates = session.scalars(
        select(Case.id)
        .where(Case.overdue.is_(False), Case.due_at < now, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.due_at)
        .limit(500)
    ).all()
    for case_id in candidates:
        result = session.execute(
            update(Case).where(Case.id == case_id, Case.overdue.is_(False)).values(overdue=True)
        )
        if result.rowcount:
            session.add(
                CaseHistory(case_id=case_id, at=now, kind="overdue", actor="system", note="已超過處理期限")
            )
    session.flush()


@periodic
def purge_abandoned_photos(session: Session, now: datetime) -> None:
    """Photos of report flows never confirmed (the conversation expires after a day)."""
    from sqlalchemy import delete

    session.execute(
        delete(CasePhoto).where(CasePhoto.case_id.is_(None), CasePhoto.created_at < now - timedelta(days=3))
    )


def utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
