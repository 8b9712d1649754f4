"""Webhook throughput and latency through real gunicorn, replies to a fake LINE server.

Starts `citizenbot serve` (SQLite in a temporary folder) with LINE_API_BASE_URL
pointing at a fake Messaging API running in this process, posts N signed text
events from C client threads, and reports events/second, request latency
(p50/p99/max) and how long until every reply reached the fake server.

    .venv/bin/python bench/bench_webhook.py [--events 300] [--concurrency 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakeline import FakeLine  # noqa: E402  - needs the repo root on sys.path

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
TEXTS = ["選單", "中正路有坑洞", "查詢案件進度", "鳳山哪裡有免費法律諮詢", "今天天氣如何", "取消", "轉真人"]
MAX_EVENTS = 5000
MAX_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def event_body(i: int) -> bytes:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": f"Ubench{i % 97:05d}"},
        "webhookEventId": f"01BENCH{i:019d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": f"bench-token-{i}",
        "message": {"type": "text", "id": str(100000 + i), "text": TEXTS[i % len(TEXTS)], "quoteToken": "q"},
    }
    return json.dumps({"destination": "Ubot", "events": [event]}, ensure_ascii=False).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"citizenbot serve exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become healthy in time")


def _empty_database(url: str) -> None:
    """A PostgreSQL bench database starts empty, so `serve` migrates it from scratch."""
    from sqlalchemy import create_engine, text

    from bot.db import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, help="default: citizenbot serve's (1 on SQLite, 2 on PostgreSQL)")
    parser.add_argument("--database-url", help="e.g. postgresql+psycopg://root@127.0.0.1/bench (emptied first)")
    parser.add_argument("--server-log", help="copy the server's log here")
    args = parser.parse_args()
    n = max(1, min(args.events, MAX_EVENTS))

    with tempfile.TemporaryDirectory(prefix="citizenbot-bench-") as tmp, FakeLine(TOKEN) as fake:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
            "CITIZENBOT_INSTANCE_DIR": tmp,
            "SECRET_KEY": "bench-secret-key",
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": fake.url,
            "CITIZENBOT_OUTBOX_WORKER": "1",
        }
        citizenbot = Path(sys.executable).with_name("citizenbot")
        cmd = [str(citizenbot)] if citizenbot.exists() else [sys.executable, "-m", "bot.cli"]
        if args.database_url:
            _empty_database(args.database_url)
        cmd += ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        workers = args.workers or (2 if args.database_url and "postgresql" in args.database_url else 1)
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                cmd, cwd=tmp, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            started_serving = time.monotonic()
            wait_healthy(base, proc)
            boot = time.monotonic() - started_serving
            # Warm each worker (matcher index, connections) outside the measurement.
            with requests.Session() as s:
                for i in range(workers * 4):
                    body = event_body(MAX_EVENTS + 10 + i)
                    s.post(
                        base + "/callback", data=body, headers={"X-Line-Signature": sign(body)}, timeout=10
                    )
            fake.wait_for(lambda f: len(f.replies) + len(f.pushes) >= workers * 4, timeout=30)
            warm_replies = len(fake.replies) + len(fake.pushes)

            latencies: list[float] = []
            statuses: dict[int, int] = {}
            lock = threading.Lock()
            next_index = iter(range(n))
            deadline = time.monotonic() + MAX_SECONDS

            def client() -> None:
                with requests.Session() as session:
                    while time.monotonic() < deadline:
                        with lock:
                            i = next(next_index, None)
                        if i is None:
                            return
                        body = event_body(i)
                        t0 = time.perf_counter()
                        try:
                            r = session.post(
                                base + "/callback",
                                data=body,
                                headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"},
                                timeout=10,
                            )
                            code = r.status_code
                        except requests.RequestException:
                            code = 0
                        elapsed = time.perf_counter() - t0
                        with lock:
                            latencies.append(elapsed)
                            statuses[code] = statuses.get(code, 0) + 1

            t_start = time.monotonic()
            threads = [threading.Thread(target=client) for _ in range(max(1, args.concurrency))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            t_posted = time.monotonic()
            ok = statuses.get(200, 0)
            all_delivered = fake.wait_for(
                lambda f: len(f.replies) + len(f.pushes) - warm_replies >= ok, timeout=60
            )
            t_delivered = time.monotonic()
            delivered = len(fake.replies) + len(fake.pushes) - warm_replies
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if args.server_log:
                Path(args.server_log).write_bytes(log_path.read_bytes())

        posted = len(latencies)
        wall = t_posted - t_start
        print(
            f"citizenbot webhook bench: gunicorn {workers} workers x 8 threads, "
            f"{'PostgreSQL' if args.database_url else 'SQLite'}, {args.concurrency} clients"
        )
        print(f"  server boot (migrate + start):   {boot:.2f} s")
        print(f"  events posted:                   {posted} in {wall:.2f} s -> {posted / wall:.1f} events/s")
        print(f"  HTTP statuses:                   {dict(sorted(statuses.items()))}")
        print(
            "  request latency:                 "
            f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms"
        )
        print(
            f"  replies at fake LINE:            {delivered}/{ok} "
            f"({len(fake.pushes)} by push) {'all' if all_delivered else 'NOT all'} delivered"
        )
        print(
            f"  first post -> last reply:        {t_delivered - t_start:.2f} s "
            f"(last reply {max(0.0, t_delivered - t_posted):.2f} s after the last post)"
        )
        if fake.unauthorized:
            print(f"  unauthorized calls at fake LINE: {fake.unauthorized}")
        return 0 if all_delivered and ok == posted else 1


if __name__ == "__main__":
    raise SystemExit(main())
