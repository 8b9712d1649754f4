"""`citizenbot case list|show|update`: the staff side of cases in the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("case", help="petitions and dispatch reports (staff)")
    sub = p.add_subparsers(dest="case_command", required=True)

    q = sub.add_parser("list", help="cases, newest first")
    q.add_argument(
        "--status", help="received, assigned, in_progress, done, closed, needs_info, duplicate (or 已受理…)"
    )
    q.add_argument("--category", choices=["pothole", "streetlight", "traffic_signal", "fallen_tree"])
    q.add_argument("--overdue", action="store_true", help="only cases past their due time")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("show", help="one case with its history")
    q.add_argument("number")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_show)

    q = sub.add_parser("update", help="change status, add a note, change agency")
    q.add_argument("number")
    q.add_argument("--status")
    q.add_argument("--note")
    q.add_argument("--agency")
    q.add_argument("--unit")
    q.add_argument("--duplicate-of", dest="duplicate_of")
    q.add_argument("--actor", default="staff-cli")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_update)


def _db():
    from bot.cli import database

    return database()


def _line(c: dict) -> str:
    due = c["due_at"] or "-"
    flag = " OVERDUE" if c["overdue"] else ""
    return f"{c['number']}\t{c['status_label']}\t{c['category_name']}\t{c['district'] or '-'}\t{(c['agency'] or '-')}{c['unit'] or ''}\tdue {due}{flag}"


def cmd_list(args: argparse.Namespace) -> int:
    from bot import cases

    db = _db()
    try:
        with db.session() as session:
            rows = cases.list_cases(
                session,
                status=args.status,
                category=args.category,
                overdue=True if args.overdue else None,
                limit=args.limit,
            )
            out = [cases.case_dict(session, c) for c in rows]
    except cases.CaseError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        for c in out:
            print(_line(c))
        if not out:
            print("no cases", file=sys.stderr)
    return 0


def _print_case(c: dict) -> None:
    print(_line(c))
    for key in (
        "description",
        "address",
        "latitude",
        "longitude",
        "reporter_key",
        "created_at",
        "updated_at",
    ):
        print(f"  {key}: {c.get(key)}")
    for h in c.get("history", []):
        change = f"{h['from_status'] or ''}->{h['to_status']}" if h["kind"] == "status" else h["kind"]
        print(f"  {h['at']}  {change}  {h['actor']}  {h['note'] or ''}")


def cmd_show(args: argparse.Namespace) -> int:
    from bot import cases

    db = _db()
    try:
        with db.session() as session:
            case = cases.get_case(session, args.number)
            if case is None:
                print(f"error: 查無案件 {args.number} (case not found)", file=sys.stderr)
                return 1
            c = cases.case_dict(session, case, history=True)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(c, ensure_ascii=False, indent=1))
    else:
        _print_case(c)
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from bot import cases

    db = _db()
    try:
        with db.session() as session:
            case = cases.update_case(
                session,
                args.number,
                datetime.now(UTC),
                status=args.status,
                note=args.note,
                agency=args.agency,
                unit=args.unit,
                duplicate_of=args.duplicate_of,
                actor=args.actor,
            )
            c = cases.case_dict(session, case, history=True)
    except cases.CaseError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(c, ensure_ascii=False, indent=1))
    else:
        print(f"updated {c['number']}: {c['status_label']}")
    return 0
