"""`citizenbot proposal …`: staff review proposals and record the agency's answer."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from bot.db import Database


def add_cli(sub) -> None:
    p = sub.add_parser("proposal", help="citizen proposals (想提議): review and answer")
    psub = p.add_subparsers(dest="proposal_command", required=True)

    q = psub.add_parser("list", help="proposals, newest first")
    q.add_argument(
        "--status", choices=["pending_review", "open", "rejected", "passed", "expired", "answered"]
    )
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_list)

    q = psub.add_parser("show", help="one proposal")
    q.add_argument("id", type=int)
    q.set_defaults(func=_show)

    q = psub.add_parser("review", help="approve (open for co-signing) or reject a pending proposal")
    q.add_argument("id", type=int)
    verdict = q.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", action="store_true")
    verdict.add_argument("--reject", action="store_true")
    q.add_argument("--note", help="shown to the proposer; required when rejecting")
    q.add_argument("--agency", help="the agency that will answer if it passes")
    q.add_argument("--by", required=True, help="reviewer name")
    q.set_defaults(func=_review)

    q = psub.add_parser("respond", help="record the agency's answer to a passed proposal")
    q.add_argument("id", type=int)
    q.add_argument("--response", required=True)
    q.add_argument("--by", required=True)
    q.set_defaults(func=_respond)


def _db() -> Database:
    from bot.cli import database

    return database()


def _as_dict(p) -> dict:
    return {
        "id": p.id,
        "title": p.title,
        "status": p.status,
        "cosign_count": p.cosign_count,
        "deadline": p.deadline.isoformat() if p.deadline else None,
        "agency": p.agency,
        "created_at": p.created_at.isoformat(),
    }


def _list(args: argparse.Namespace) -> int:
    from bot.models import Proposal

    with _db().session() as s:
        stmt = select(Proposal).order_by(Proposal.created_at.desc()).limit(200)
        if args.status:
            stmt = stmt.where(Proposal.status == args.status)
        rows = [_as_dict(p) for p in s.scalars(stmt)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(f"{r['id']:>5}  {r['status']:<14} {r['cosign_count']:>5}  {r['title']}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from bot.models import Proposal

    with _db().session() as s:
        p = s.get(Proposal, args.id)
        if p is None:
            print(f"proposal {args.id} does not exist", file=sys.stderr)
            return 1
        print(
            json.dumps(
                {**_as_dict(p), "body": p.body, "response": p.response, "review_note": p.review_note},
                ensure_ascii=False,
                indent=1,
            )
        )
    return 0


def _run(fn) -> int:
    from bot.proposals import ProposalError

    try:
        with _db().session() as s:
            p = fn(s)
            print(f"proposal {p.id}: {p.status}")
        return 0
    except ProposalError as e:
        print(e.message, file=sys.stderr)
        return 1


def _review(args: argparse.Namespace) -> int:
    from bot import proposals

    return _run(
        lambda s: proposals.review(
            s,
            args.id,
            approve=args.approve,
            reviewer=args.by,
            now=datetime.now(UTC),
            note=args.note,
            agency=args.agency,
        )
    )


def _respond(args: argparse.Namespace) -> int:
    from bot import proposals

    return _run(lambda s: proposals.respond(s, args.id, args.response, args.by))
