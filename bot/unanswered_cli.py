"""`citizenbot unanswered [resolve …]`: what residents asked that the bot could not answer."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from bot.db import Database


def add_cli(sub) -> None:
    p = sub.add_parser("unanswered", help="unanswered questions, grouped by similarity")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=30, help="groups to show")
    p.set_defaults(func=_list)
    usub = p.add_subparsers(dest="unanswered_command")
    r = usub.add_parser("resolve", help="turn a group into intent examples or a new FAQ entry")
    r.add_argument("group", type=int, help="group number from the list")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--intent", help="teach these wordings to an intent (e.g. dispatch_report, faq.hotline_1999)"
    )
    what.add_argument("--faq-question", help="create a new FAQ entry with this question (needs --faq-answer)")
    what.add_argument("--ignore", action="store_true", help="dismiss the group (out of scope, spam)")
    r.add_argument("--faq-answer", help="answer of the new FAQ entry")
    r.add_argument("--faq-id", help="id of the new FAQ entry (faq.<slug>); generated when omitted")
    r.add_argument("--faq-url", help="link to the official page")
    r.add_argument("--by", required=True, help="your name, kept with the change")
    r.set_defaults(func=_resolve)


def _db() -> Database:
    from bot.cli import database

    return database()


def _list(args: argparse.Namespace) -> int:
    from bot.unanswered import groups

    with _db().session() as s:
        found = groups(s)[: args.limit]
        rows = [g.as_json() for g in found]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    if not rows:
        print("no unanswered questions")
        return 0
    for g in rows:
        cands = ", ".join(g["candidates"]) or "-"
        print(f"group {g['group']}: {g['count']} message(s); nearest intents: {cands}")
        for t in g["texts"][:8]:
            print(f"    {t['count']:>3} × {t['text']}")
    print(
        "\nresolve: citizenbot unanswered resolve GROUP (--intent ID | --faq-question Q --faq-answer A | --ignore) --by NAME"
    )
    return 0


def _resolve(args: argparse.Namespace) -> int:
    from bot.unanswered import ResolveError, resolve
    from intents import load_builtin_intents

    new_faq = None
    if args.faq_question:
        if not args.faq_answer:
            print("--faq-question needs --faq-answer", file=sys.stderr)
            return 2
        new_faq = {
            "question": args.faq_question,
            "answer": args.faq_answer,
            "id": args.faq_id,
            "url": args.faq_url,
        }
    known = {i.id for i in load_builtin_intents()}
    try:
        with _db().session() as s:
            group = resolve(
                s,
                args.group,
                now=datetime.now(UTC),
                by=args.by,
                intent_id=args.intent,
                new_faq=new_faq,
                ignore=args.ignore,
                known_intents=known,
            )
    except ResolveError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"resolved group {group.id} ({group.size} messages)")
    return 0
