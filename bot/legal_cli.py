"""`citizenbot legal …`: staff block dates (holidays, typhoon days) and list bookings."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime

from bot.db import Database


def add_cli(sub) -> None:
    p = sub.add_parser("legal", help="free legal consultation: blocked dates and bookings")
    lsub = p.add_subparsers(dest="legal_command", required=True)

    q = lsub.add_parser(
        "block", help="no consultation on DATE (all sites, or --site); bookings are told by push"
    )
    q.add_argument("date", help="YYYY-MM-DD")
    q.add_argument("--site", help="site id (see `citizenbot legal sites`); default: every site")
    q.add_argument("--reason", help="shown to residents, e.g. 颱風停班")
    q.set_defaults(func=_block)

    q = lsub.add_parser("unblock", help="undo a block")
    q.add_argument("date")
    q.add_argument("--site")
    q.set_defaults(func=_unblock)

    q = lsub.add_parser("bookings", help="bookings on a date (default: every upcoming active booking)")
    q.add_argument("--date")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_bookings)

    q = lsub.add_parser("sites", help="the consultation sites and their ids")
    q.set_defaults(func=_sites)


def _db() -> Database:
    from bot.cli import database

    return database()


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        print(f"error: {value!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return None


def _site_ok(site_id: str | None) -> bool:
    from bot import legal

    if site_id is not None and legal.get_site(site_id) is None:
        ids = ", ".join(s.id for s in legal.sites())
        print(f"error: unknown site {site_id!r}; sites: {ids}", file=sys.stderr)
        return False
    return True


def _block(args: argparse.Namespace) -> int:
    from bot import legal

    day = _date(args.date)
    if day is None or not _site_ok(args.site):
        return 2
    db = _db()
    try:
        with db.session() as session:
            row, affected = legal.block_date(session, day, args.site, args.reason, datetime.now(UTC))
    finally:
        db.dispose()
    where = args.site or "all sites"
    state = "blocked" if row is not None else "already blocked"
    print(f"{day} {where}: {state}; {len(affected)} booking(s) released and notified")
    return 0


def _unblock(args: argparse.Namespace) -> int:
    from bot import legal

    day = _date(args.date)
    if day is None or not _site_ok(args.site):
        return 2
    db = _db()
    try:
        with db.session() as session:
            n = legal.unblock_date(session, day, args.site)
    finally:
        db.dispose()
    print(f"{day} {args.site or 'all sites'}: {n} block(s) removed")
    return 0 if n else 1


def _bookings(args: argparse.Namespace) -> int:
    from bot import legal

    day = None
    if args.date:
        day = _date(args.date)
        if day is None:
            return 2
    db = _db()
    try:
        with db.session() as session:
            rows = legal.bookings_on(session, day, datetime.now(UTC))
            items = [
                {
                    "id": b.id,
                    "site": b.site_id,
                    "date": b.date.isoformat(),
                    "slot": b.slot_start,
                    "name": b.name,
                    "phone": b.phone,
                    "topic": b.topic,
                    "topic_kind": b.topic_kind,
                    "status": b.status,
                }
                for b in rows
            ]
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=1))
        return 0
    if not items:
        print("no bookings")
    for b in items:
        print(
            f"L{b['id']}\t{b['date']} {b['slot']}\t{b['site']}\t{b['status']}\t{b['name']}\t{b['phone']}\t{b['topic'] or ''}"
        )
    return 0


def _sites(args: argparse.Namespace) -> int:
    from bot import legal

    for s in legal.sites():
        flag = "booking" if s.bookable else "walk-in"
        print(f"{s.id}\t{s.name}\t{flag}\t{s.hours_text}")
    return 0
