"""`citizenbot serve`: bring the schema up to date, then run gunicorn (never Flask's dev server)."""

from __future__ import annotations

import os
import sys

from bot.config import Settings
from bot.db import upgrade


def serve(host: str, port: int, workers: int | None) -> int:
    settings = Settings.from_env()
    if workers is None:
        workers = 1 if settings.database_url.startswith("sqlite") else 2
    upgrade(settings.database_url)
    from bot.faq_store import seed_builtin_faq

    seed_builtin_faq(settings.database_url)
    # Children inherit the settings through the environment; fix the SECRET_KEY
    # so every worker signs sessions alike.
    os.environ.setdefault("SECRET_KEY", settings.secret_key)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "8",
        "--timeout",
        "30",
        "--access-logfile",
        "-",
        # Path without the query string: Open311 clients put api_key there.
        "--access-logformat",
        '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
        "bot.app:create_app()",
    ]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return
