"""`citizenbot human list|reply|done`: staff answer residents who asked for a person (轉真人)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from bot.db import Database

MAX_REPLY = 2000


def add_cli(sub) -> None:
    p = sub.add_parser("human", help="residents waiting for a person (轉真人)")
    hsub = p.add_subparsers(dest="human_command", required=True)
    q = hsub.add_parser("list", help="requests, oldest open first")
    q.add_argument("--all", action="store_true", help="include answered and done requests")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_list)
    q = hsub.add_parser("reply", help="send the resident a message in their chat")
    q.add_argument("id", type=int)
    q.add_argument("--text", required=True)
    q.add_argument("--by", required=True, help="your name, kept with the request")
    q.set_defaults(func=_reply)
    q = hsub.add_parser("done", help="close a request")
    q.add_argument("id", type=int)
    q.add_argument("--by", required=True)
    q.set_defaults(func=_done)


def _db() -> Database:
    from bot.cli import database

    return database()


def _list(args: argparse.Namespace) -> int:
    from bot.models import HumanAgentRequest

    with _db().session() as s:
        stmt = select(HumanAgentRequest).order_by(HumanAgentRequest.created_at)
        if not args.all:
            stmt = stmt.where(HumanAgentRequest.status == "open")
        rows = [
            {
                "id": r.id,
                "channel": r.channel,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
                "text": r.last_text,
                "handled_by": r.handled_by,
            }
            for r in s.scalars(stmt)
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        print(
            f"H{r['id']:<5} {r['status']:<9} {r['channel']:<8} {r['created_at'][:16]}  {(r['text'] or '').replace(chr(10), ' ')[:60]}"
        )
    if not rows:
        print("no open requests")
    return 0


def _reply(args: argparse.Namespace) -> int:
    from bot import outbox
    from bot.messages import Text
    from bot.models import HumanAgentRequest

    text = args.text.strip()
    if not text or len(text) > MAX_REPLY:
        print(f"the reply must be 1 to {MAX_REPLY} characters", file=sys.stderr)
        return 2
    with _db().session() as s:
        request = s.get(HumanAgentRequest, args.id, with_for_update=True)
        if request is None:
            print(f"request H{args.id} does not exist", file=sys.stderr)
            return 1
        # Delivered like any notification: LINE push with a retry key, or the web/terminal chat.
        outbox.notify(
            s, request.user_key, [Text(f"【服務人員回覆】\n{text}\n\n如需進一步協助請直接回覆，或撥 1999。")]
        )
        request.status = "answered"
        request.handled_by = args.by
        request.handled_at = datetime.now(UTC)
    print(f"reply to H{args.id} queued for delivery")
    return 0


def _done(args: argparse.Namespace) -> int:
    from bot.models import HumanAgentRequest

    with _db().session() as s:
        request = s.get(HumanAgentRequest, args.id, with_for_update=True)
        if request is None:
            print(f"request H{args.id} does not exist", file=sys.stderr)
            return 1
        request.status = "done"
        request.handled_by = request.handled_by or args.by
        request.handled_at = request.handled_at or datetime.now(UTC)
    print(f"H{args.id} closed")
    return 0
