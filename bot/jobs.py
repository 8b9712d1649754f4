"""Periodic jobs (overdue cases, booking reminders, queue updates…).

Features register idempotent functions with `@periodic`; each worker's outbox
delivery thread runs them about once a minute, and `citizenbot jobs run` runs
them once (for cron). Every job takes (session, now) and must be safe to run
concurrently in several workers: make each change conditional on the row's
current state (or lock the rows it changes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Job = Callable[[Session, datetime], None]
_JOBS: dict[str, Job] = {}


def periodic(fn: Job) -> Job:
    name = f"{fn.__module__}.{fn.__qualname__}"
    if name in _JOBS and _JOBS[name] is not fn:
        raise ValueError(f"periodic job {name} registered twice")
    _JOBS[name] = fn
    return fn


def load_jobs() -> dict[str, Job]:
    """Import every module that registers jobs (the handlers' service modules)."""
    import bot.retention  # noqa: F401  - registers the purge job
    import handlers  # handler modules import their services, which register theirs

    handlers.build_registry()
    return dict(_JOBS)


def run_all(db, now: datetime | None = None) -> int:
    """Run each job in its own transaction; one failing job does not stop the others."""
    now = now or datetime.now(UTC)
    ran = 0
    for name, job in load_jobs().items():
        try:
            with db.session() as session:
                job(session, now)
            ran += 1
        except Exception:
            log.exception("periodic job %s failed", name)
    return ran
