"""The outbox: messages that must reach a user, delivered after their cause commits.

Rows are written in the same transaction as the change that causes them (a
webhook event's reply, a handler's notification), so a crash never loses one
and a rollback never sends one. `Delivery` sends LINE rows from a daemon thread
per process:

- a row is claimed with a conditional UPDATE (status pending, or a `sending`
  row whose lease ran out, and due): the claim sets status `sending` and moves
  `next_attempt_at` to the end of a lease, so no two workers send one row;
- kind `reply` tries the reply token once, while it is fresh; when the reply
  fails, the same messages are pushed with `X-Line-Retry-Key` = the row's
  `retry_key`, so LINE accepts each row at most once however often we retry
  (409 = already accepted = sent);
- transient failures are retried with exponential backoff; requests LINE
  rejects as bad end as `failed` with `last_error`.

Web rows (channel `web`) are only stored here; the web channel hands them out.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db import Database
from bot.messages import Reply, reply_to_dict
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

# LINE reply tokens expire about a minute after the event; past this, push directly.
REPLY_TOKEN_MAX_AGE = timedelta(seconds=50)
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# With the cap this is well over two hours of trying before a row is given up.
MAX_ATTEMPTS = 40
POLL_SECONDS = 1.0
JOBS_EVERY_SECONDS = 60.0
BATCH = 200  # rows per pass before the loop looks at jobs and stop again
CLAIM_BATCH = 16  # rows claimed (and recorded) per transaction
SEND_THREADS = 8

_DIRTY = "citizenbot.outbox_dirty"


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- writing rows (inside the caller's transaction) ------------------------------------


def _add(session: Session, **fields: Any) -> OutboxMessage:
    row = OutboxMessage(
        retry_key=str(uuid.uuid4()),
        status="pending",
        attempts=0,
        next_attempt_at=_utcnow(),
        created_at=_utcnow(),
        **fields,
    )
    session.add(row)
    # Wake the delivery thread once this transaction commits (see Delivery._after_commit).
    session.info[_DIRTY] = True
    return row


def enqueue_reply(session: Session, to: str, reply_token: str, messages: list[dict]) -> OutboxMessage:
    """A LINE reply (falls back to a push to `to` when the token fails)."""
    return _add(session, channel="line", kind="reply", to=to, reply_token=reply_token, messages=messages)


def enqueue_push(session: Session, to: str, messages: list[dict]) -> OutboxMessage:
    return _add(session, channel="line", kind="push", to=to, reply_token=None, messages=messages)


def notify(session: Session, user_key: str, replies: list[Reply]) -> None:
    """Send replies to another user (`ctx.notify`), committed with the caller's change."""
    if not replies:
        return
    channel, _, ident = user_key.partition(":")
    if channel == "line" and ident:
        from bot.channels.line_render import to_line_messages

        enqueue_push(session, ident, to_line_messages(replies))
    elif channel in ("web", "console") and ident:
        # Held until that chat asks (the web page polls; the terminal checks at each prompt).
        _add(
            session,
            channel=channel,
            kind="push",
            to=user_key,
            reply_token=None,
            messages=[reply_to_dict(r) for r in replies],
        )
    else:
        log.warning("notification for unknown channel %r dropped", channel)


# --- delivery ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    to: str
    reply_token: str | None
    messages: list
    retry_key: str
    attempts: int
    created_at: datetime
    lease_until: datetime


class Delivery:
    """Sends due LINE outbox rows; one lazily started daemon thread per process."""

    def __init__(self, db: Database, settings: Settings, api: Any | None = None):
        self.db = db
        self.settings = settings
        self._api = api
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._executor: ThreadPoolExecutor | None = None
        # Seconds a claim holds its rows: room for two rounds of the send pool in
        # which a reply and a push both time out.
        self.lease = timedelta(seconds=max(30.0, 4 * settings.line_api_timeout + 5))
        event.listen(db.sessionmaker, "after_commit", self._after_commit)

    @property
    def api(self):
        if self._api is None:
            from bot.line_api import LineApi

            with self._lock:
                if self._api is None:
                    self._api = LineApi(self.settings)
        return self._api

    # --- thread ------------------------------------------------------------
    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_DIRTY, False):
            self.kick()

    def kick(self) -> None:
        """New rows were committed: deliver them now rather than at the next poll."""
        if self.start():
            self._wake.set()

    def start(self) -> bool:
        """Start the delivery thread in this process if configured and not running."""
        if not self.settings.outbox_worker or self._stopping.is_set():
            return False
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            return True
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)
                self._thread.start()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._api is not None and hasattr(self._api, "close"):
            self._api.close()

    def _run(self) -> None:
        next_jobs = time.monotonic() + JOBS_EVERY_SECONDS
        while not self._stopping.is_set():
            # Clear before the pass: a kick during it makes the wait return at once.
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:
                log.exception("outbox delivery pass failed")
            if time.monotonic() >= next_jobs:
                next_jobs = time.monotonic() + JOBS_EVERY_SECONDS
                try:
                    from bot import jobs

                    jobs.run_all(self.db)
                except Exception:
                    log.exception("periodic jobs failed")
            self._wake.wait(POLL_SECONDS)

    # --- one pass -------------------------------------------------------------
    def deliver_due(self, now: datetime | None = None) -> int:
        """Send every LINE row due at `now` (default: the clock); returns how many were tried."""
        done = 0
        while done < BATCH and not (self._stopping.is_set() and now is None):
            at = now or _utcnow()
            claimed = self._claim(at)
            if not claimed:
                break
            if len(claimed) == 1:
                outcomes = [self._attempt(claimed[0], at)]
            else:
                # In parallel: a slow LINE API must not let queued reply tokens expire.
                outcomes = list(self._pool().map(self._attempt, claimed, [at] * len(claimed)))
            self._record(list(zip(claimed, outcomes, strict=True)))
            done += len(claimed)
        return done

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="outbox-send")
            return self._executor

    def _claim(self, now: datetime) -> list[_Claimed]:
        """Claim up to CLAIM_BATCH due rows in one short transaction."""
        due = (
            (OutboxMessage.channel == "line")
            & OutboxMessage.status.in_(("pending", "sending"))
            & (OutboxMessage.next_attempt_at <= now)
        )
        # A few random microseconds make this claim's lease end unique to it.
        lease_until = now + self.lease + timedelta(microseconds=random.randrange(1, 1000))
        with self.db.session() as session:
            stmt = (
                select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            )
            if self.db.dialect == "postgresql":
                # Workers skip each other's candidates instead of queueing on them.
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(session.scalars(stmt.limit(CLAIM_BATCH)))
            if not ids:
                return []
            # The UPDATE re-checks the condition itself, so a row is claimed by one worker only.
            session.execute(
                update(OutboxMessage)
                .where(due & OutboxMessage.id.in_(ids))
                .values(status="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=lease_until)
                .execution_options(synchronize_session=False)
            )
            rows = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids)
                    & (OutboxMessage.status == "sending")
                    & (OutboxMessage.next_attempt_at == lease_until)
                )
                .order_by(OutboxMessage.id)
                .execution_options(populate_existing=True)
            ).all()
            return [
                _Claimed(
                    id=row.id,
                    kind=row.kind,
                    to=row.to,
                    reply_token=row.reply_token,
                    messages=list(row.messages or []),
                    retry_key=row.retry_key,
                    attempts=row.attempts,
                    created_at=row.created_at,
                    lease_until=lease_until,
                )
                for row in rows
            ]

    def _attempt(self, row: _Claimed, now: datetime) -> dict[str, Any]:
        """Send one claimed row; returns the column values recording the outcome."""
        from bot.line_api import LineApiError

        try:
            if not row.messages:
                return self._outcome("sent", now, note="nothing to send")
            # Only the first claim uses the token: a later one means a reply may have
            # been tried already (or the token is stale), and a push cannot double.
            if (
                row.kind == "reply"
                and row.reply_token
                and row.attempts == 1
                and now - row.created_at < REPLY_TOKEN_MAX_AGE
            ):
                try:
                    self.api.reply(row.reply_token, row.messages)
                    return self._outcome("sent", now)
                except LineApiError as exc:
                    log.info("outbox %s: reply failed (%s), pushing instead", row.id, exc)
            accepted = self.api.push(row.to, row.messages, row.retry_key)
            return self._outcome("sent", now, note=None if accepted else "retry key already accepted")
        except LineApiError as exc:
            if exc.transient and row.attempts < MAX_ATTEMPTS:
                delay = min(BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1), BACKOFF_CAP_SECONDS)
                delay *= random.uniform(0.8, 1.0)  # spread the retries of a burst
                log.warning(
                    "outbox %s: attempt %d failed (%s), retry in %.0fs", row.id, row.attempts, exc, delay
                )
                return self._outcome("pending", now, error=str(exc), retry_in=delay)
            log.error("outbox %s: giving up after %d attempts (%s)", row.id, row.attempts, exc)
            return self._outcome("failed", now, error=str(exc))
        except Exception as exc:  # a bug, not LINE: keep the row and retry later
            log.exception("outbox %s: delivery crashed", row.id)
            status = "pending" if row.attempts < MAX_ATTEMPTS else "failed"
            return self._outcome(status, now, error=type(exc).__name__, retry_in=BACKOFF_CAP_SECONDS)

    @staticmethod
    def _outcome(
        status: str,
        now: datetime,
        error: str | None = None,
        retry_in: float | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"status": status, "last_error": error or note, "next_attempt_at": now}
        if status == "sent":
            values["sent_at"] = now
        elif status == "pending":
            values["next_attempt_at"] = now + timedelta(seconds=retry_in or BACKOFF_BASE_SECONDS)
        return values

    def _record(self, outcomes: list[tuple[_Claimed, dict[str, Any]]]) -> None:
        """Write the outcomes of one batch in one transaction, each only if our lease still holds."""
        with self.db.session() as session:
            for row, values in outcomes:
                result = session.execute(
                    update(OutboxMessage)
                    .where(
                        (OutboxMessage.id == row.id)
                        & (OutboxMessage.status == "sending")
                        & (OutboxMessage.next_attempt_at == row.lease_until)
                    )
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    # Our lease ran out and another worker took the row over; it decides.
                    log.warning("outbox %s: lease lost before recording %s", row.id, values["status"])
