"""The `citizenbot` command. Each subcommand imports what it needs when it runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from bot.config import Settings


def _settings() -> Settings:
    return Settings.from_env()


def database():
    """The configured database, ready to read. The embedded default (no DATABASE_URL) is
    migrated on first use; a configured one must have been upgraded by its operator."""
    import os

    from sqlalchemy import inspect

    from bot.db import Database, upgrade

    settings = _settings()
    if not os.environ.get("DATABASE_URL"):
        upgrade(settings.database_url)
    db = Database(settings.database_url)
    if not inspect(db.engine).has_table("catalog_version"):
        sys.exit("the database has no citizenbot schema yet: run `citizenbot db upgrade` first")
    return db


# --- serve / db ----------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.serve import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.db import upgrade
    from bot.faq_store import seed_builtin_faq

    settings = _settings()
    upgrade(settings.database_url)
    seeded = seed_builtin_faq(settings.database_url)
    print(f"database is up to date ({seeded} new built-in FAQ entries)")
    return 0


# --- conversation --------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.console import run_console

    return run_console(user=args.user)


def cmd_classify(args: argparse.Namespace) -> int:
    from intents import MatcherProvider

    db = database()
    matcher = MatcherProvider(db.sessionmaker).get()
    texts = args.text or (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        if not text.strip():
            continue
        verdict = matcher.match(text)
        if args.json:
            print(json.dumps(verdict.as_json(), ensure_ascii=False))
        else:
            alts = ", ".join(f"{i} {s:.0f}" for i, s in verdict.alternatives)
            slots = " ".join(f"{k}={v}" for k, v in verdict.slots.items())
            print(f"{verdict.intent}\t{verdict.score:.0f}\t{verdict.decision}\t{slots}\t[{alts}]\t{text}")
    return 0


def cmd_intents_export(args: argparse.Namespace) -> int:
    from intents import MatcherProvider

    matcher = MatcherProvider(database().sessionmaker).get()
    out = []
    for intent in matcher.intents.values():
        item = {"id": intent.id, "kind": intent.kind, "examples": list(intent.examples)}
        if intent.kind == "faq":
            item["answer"] = intent.answer
            if intent.url:
                item["url"] = intent.url
            if intent.phrasings:  # shipped with citizenbot (data/city_faq_phrasings.yaml)
                item["phrasings"] = list(intent.phrasings)
        out.append(item)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from intents.evaluate import main as evaluate

    return evaluate(args)


# --- FAQ ------------------------------------------------------------------------------


def cmd_faq(args: argparse.Namespace) -> int:
    from bot import faq_store

    return faq_store.cli(args, _settings())


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from bot.jobs import run_all

    print(f"ran {run_all(database())} jobs")
    return 0


# Modules with `add_cli(subparsers)`; each registers its subcommand and handler.
FEATURE_CLIS: list[str] = [
    "bot.proposals_cli",
    "bot.unanswered_cli",
    "bot.human_cli",
    "bot.cases_cli",
    "bot.legal_cli",
    "bot.video_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citizenbot", description="高雄市民服務 chat and LINE bot")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="upgrade the schema, then serve with gunicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn worker processes (default: 1 on SQLite, whose single writer is best "
        "shared by one process's threads; 2 on PostgreSQL)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("chat", help="talk to the bot in the terminal")
    p.add_argument("--user", default="local", help="conversation id (state is kept per id)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("classify", help="the matcher's verdict for each TEXT or stdin line")
    p.add_argument("--json", action="store_true")
    p.add_argument("text", nargs="*")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("intents", help="the intent catalog")
    isub = p.add_subparsers(dest="intents_command", required=True)
    isub.add_parser("export", help="JSON array of every intent").set_defaults(func=cmd_intents_export)

    p = sub.add_parser("eval", help="score the matcher on a labelled dev set")
    from intents.evaluate import add_arguments as add_eval_arguments

    add_eval_arguments(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("faq", help="FAQ entries staff keep up to date")
    from bot.faq_store import add_arguments as add_faq_arguments

    add_faq_arguments(p)
    p.set_defaults(func=cmd_faq)

    p = sub.add_parser("jobs", help="periodic jobs")
    jsub = p.add_subparsers(dest="jobs_command", required=True)
    jsub.add_parser("run", help="run every periodic job once (for cron)").set_defaults(func=cmd_jobs_run)

    # Feature commands (case, legal, video…): each module adds its own subcommand.
    for module_name in FEATURE_CLIS:
        import importlib

        importlib.import_module(module_name).add_cli(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `citizenbot intents export | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
