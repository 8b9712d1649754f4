"""`citizenbot video …`: interpreters see the queue, accept, end, open cases; statistics."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from bot.config import Settings


def add_cli(sub) -> None:
    p = sub.add_parser("video", help="sign-language video sessions (手語視訊)")
    vsub = p.add_subparsers(dest="video_command", required=True)

    q = vsub.add_parser("queue", help="open requests: waiting now, scheduled, in session")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_queue)

    q = vsub.add_parser("accept", help="take a request; the resident is pushed the video link")
    q.add_argument("id", type=_request_id)
    q.add_argument("--interpreter", required=True)
    q.set_defaults(func=_accept)

    q = vsub.add_parser("end", help="end a session and record its outcome")
    q.add_argument("id", type=_request_id)
    q.add_argument(
        "--outcome",
        required=True,
        choices=["answered", "petition", "dispatch", "referred", "no_show", "other"],
    )
    q.add_argument("--note")
    q.set_defaults(func=_end)

    q = vsub.add_parser("to-case", help="open a petition or dispatch case on the resident's behalf")
    q.add_argument("id", type=_request_id)
    q.add_argument("--kind", required=True, choices=["petition", "dispatch"])
    q.add_argument("--description")
    q.add_argument(
        "--category",
        choices=["pothole", "streetlight", "traffic_signal", "fallen_tree"],
        help="dispatch cases: what is broken",
    )
    q.add_argument("--district", help="dispatch cases: e.g. 鳳山區")
    q.add_argument("--address", help="dispatch cases: an address naming its district")
    q.add_argument("--lat", type=float)
    q.add_argument("--lng", type=float)
    q.add_argument("--interpreter", help="default: the interpreter who took the session")
    q.set_defaults(func=_to_case)

    q = vsub.add_parser("stats", help="sessions per month, waiting times, outcomes")
    q.add_argument("--month", help="YYYY-MM (Asia/Taipei)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_stats)


def _request_id(value: str) -> int:
    try:
        return int(value.upper().removeprefix("V"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a request id (e.g. 12 or V12)") from None


def _settings() -> Settings:
    return Settings.from_env()


def _run(fn) -> int:
    """Run fn(session, settings) in one transaction; a VideoError is a clear refusal (exit 1)."""
    from bot.cli import database
    from bot.video import VideoError

    settings = _settings()
    db = database()
    try:
        with db.session() as session:
            fn(session, settings)
    except VideoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def _queue(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot import video
    from bot.models import VideoRequest

    def fn(session, settings):
        rows = session.scalars(
            select(VideoRequest).where(VideoRequest.status.in_(video.ACTIVE)).order_by(VideoRequest.id)
        ).all()
        now = datetime.now(UTC)
        items = []
        waiting = 0
        for r in rows:
            pos = None
            if r.status == "waiting":
                waiting += 1
                pos = waiting
            items.append(
                {
                    "id": r.id,
                    "status": r.status,
                    "mode": r.mode,
                    "position": pos,
                    "topic": r.topic,
                    "scheduled_for": r.scheduled_for.isoformat() if r.scheduled_for else None,
                    "waiting_minutes": round((now - r.created_at).total_seconds() / 60),
                    "outside_hours": r.outside_hours,
                    "interpreter": r.interpreter,
                    "created_at": r.created_at.isoformat(),
                }
            )
        if args.json:
            print(json.dumps(items, ensure_ascii=False, indent=1))
            return
        if not items:
            print("queue is empty")
        for i in items:
            where = (
                f"#{i['position']}"
                if i["position"]
                else (video.fmt(datetime.fromisoformat(i["scheduled_for"])) if i["scheduled_for"] else "")
            )
            topic = video.TOPICS.get(i["topic"] or "", "-")
            extra = f" ({i['interpreter']})" if i["interpreter"] else ""
            late = " outside-hours" if i["outside_hours"] else ""
            print(
                f"V{i['id']}\t{i['status']}{extra}\t{where}\t{topic}\twaited {i['waiting_minutes']} min{late}"
            )

    return _run(fn)


def _accept(args: argparse.Namespace) -> int:
    from bot import video

    def fn(session, settings):
        r = video.accept(session, args.id, args.interpreter, datetime.now(UTC), settings.video_meeting_url)
        print(f"V{r.id} accepted by {r.interpreter}; link pushed to the resident: {r.meeting_url}")

    return _run(fn)


def _end(args: argparse.Namespace) -> int:
    from bot import video

    def fn(session, settings):
        r = video.end(session, args.id, args.outcome, args.note, datetime.now(UTC))
        minutes = round((r.ended_at - r.accepted_at).total_seconds() / 60) if r.accepted_at else 0
        print(f"V{r.id} ended ({r.outcome}) after {minutes} min")

    return _run(fn)


def _to_case(args: argparse.Namespace) -> int:
    from bot import video

    def fn(session, settings):
        case = video.to_case(
            session,
            args.id,
            args.kind,
            args.description,
            f"interpreter:{args.interpreter}" if args.interpreter else None,
            datetime.now(UTC),
            category=args.category,
            district=args.district,
            address=args.address,
            latitude=args.lat,
            longitude=args.lng,
        )
        print(f"V{args.id}: case {case.number} created")

    return _run(fn)


def _stats(args: argparse.Namespace) -> int:
    from bot import video

    out: list[dict] = []

    def fn(session, settings):
        out.extend(video.stats(session, args.month))

    rc = _run(fn)
    if rc:
        return rc
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    if not out:
        print("no requests")
    for m in out:
        outcomes = (
            ", ".join(f"{video.OUTCOMES.get(k, k)} {v}" for k, v in sorted(m["outcomes"].items())) or "-"
        )
        print(
            f"{m['month']}: {m['requests']} requests, {m['sessions']} sessions, {m['cancelled']} cancelled, "
            f"{m['open']} open; wait avg {m['wait_minutes_avg']} / median {m['wait_minutes_median']} / "
            f"max {m['wait_minutes_max']} min; session avg {m['session_minutes_avg']} min; outcomes: {outcomes}"
        )
    return 0
