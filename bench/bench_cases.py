"""Case lookups at 10 thousand and 1 million cases on PostgreSQL.

    .venv/bin/python bench/bench_cases.py [--url postgresql+psycopg://root@127.0.0.1/bench_cases]
                                          [--sizes 10000,1000000] [--repeat 300]

Uses a scratch database (created with `createdb` when missing; its schema is
dropped and rebuilt by the migrations). Rows are bulk-inserted with
generate_series; then each lookup the bot makes is timed through the service
layer (bot.cases) and its EXPLAIN ANALYZE plan is printed, to show the index used:
  - a case by number          (uq_cases_number)
  - a resident's cases        (ix_cases_reporter: reporter_key, created_at)
  - the duplicate search      (ix_cases_dup: category, created_at, latitude, longitude)
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402  - after the path set-up above

from bot import cases  # noqa: E402
from bot.db import Database, upgrade  # noqa: E402
from bot.models import Case  # noqa: E402

USERS_PER_CASE = 5  # about five cases per resident
SECONDARY = list(Case.__table__.indexes)


def ensure_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    probe = Database(url)
    if probe.ping():
        probe.dispose()
        return
    probe.dispose()
    cmd = ["createdb", "-h", u.host or "127.0.0.1", "-U", u.username or "root", u.database]
    subprocess.run(cmd, check=True)


def reset_schema(db: Database, url: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)


def fill(db: Database, n: int) -> float:
    """n dispatch cases over the last year: numbers D<year>-<seq>, ~5 per resident,
    4 categories, points spread over urban Kaohsiung, a realistic status mix."""
    users = max(1, n // USERS_PER_CASE)
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE cases, case_history, case_photos, case_followers, case_counters RESTART IDENTITY CASCADE"
            )
        )
        # Secondary indexes are built once after the load (much faster than row by row).
        for index in SECONDARY:
            index.drop(conn)
        conn.execute(
            text(
                """
                INSERT INTO cases (number, kind, category, description, latitude, longitude,
                    location_approximate, address, district, source, reporter_key, agency, unit,
                    status, due_at, overdue, verify_hash, created_at, updated_at)
                SELECT 'D' || (2000 + i / 900000) || '-' || lpad((i % 900000 + 1)::text, 6, '0'),
                       'D',
                       (ARRAY['pothole','streetlight','traffic_signal','fallen_tree'])[1 + i % 4],
                       NULL,
                       22.55 + random() * 0.20,
                       120.25 + random() * 0.15,
                       false, NULL, '苓雅區', 'line',
                       'line:U' || lpad((i % :users)::text, 32, '0'),
                       '工務局養護工程處', '四維養護工程隊',
                       (ARRAY['received','assigned','in_progress','done','closed','closed','closed','duplicate'])[1 + (i / 4) % 8],
                       ts + interval '4 hours', false, md5(i::text) || md5((i + 1)::text), ts, ts
                FROM (SELECT i, now() - random() * interval '365 days' AS ts
                      FROM generate_series(0, :n - 1) AS i) AS g
                """
            ),
            {"n": n, "users": users},
        )
        for index in SECONDARY:
            index.create(conn)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE cases"))
    return time.perf_counter() - t0


def timed(fn, repeat: int) -> tuple[float, float]:
    for _ in range(20):  # warm the connection, the plan cache and the pages
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.mean(samples), samples[int(len(samples) * 0.95) - 1]


def explain(db: Database, sql: str, params: dict) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql), params)
        return [r[0] for r in rows]


def run(db: Database, n: int, repeat: int) -> None:
    seconds = fill(db, n)
    print(f"\n=== {n:,} cases (bulk insert + VACUUM ANALYZE {seconds:.1f} s) ===")
    rnd = random.Random(1)
    # Random rows across the whole table (not one hot page): ids and user keys by formula.
    ids = [rnd.randrange(1, n + 1) for _ in range(500)]
    with db.engine.connect() as conn:
        numbers = [
            r[0] for r in conn.execute(text("SELECT number FROM cases WHERE id = ANY(:ids)"), {"ids": ids})
        ]
    users_n = max(1, n // USERS_PER_CASE)
    users = [f"line:U{rnd.randrange(users_n):032d}" for _ in range(500)]
    now = datetime.now(UTC)
    session = db.sessionmaker()
    try:
        by_number = timed(lambda: cases.get_case(session, rnd.choice(numbers)), repeat)
        by_user = timed(lambda: cases.cases_of(session, rnd.choice(users), limit=5), repeat)
        dup = timed(
            lambda: cases.find_duplicates(
                session,
                rnd.choice(cases.CATEGORIES),
                22.55 + rnd.random() * 0.2,
                120.25 + rnd.random() * 0.15,
                now,
            ),
            repeat,
        )
        session.rollback()
    finally:
        session.close()
    print(f"{'lookup':<28}{'mean ms':>10}{'p95 ms':>10}")
    for name, (mean, p95) in (
        ("case by number", by_number),
        ("a resident's cases", by_user),
        ("duplicate search", dup),
    ):
        print(f"{name:<28}{mean:>10.3f}{p95:>10.3f}")

    lat, lng = 22.62, 120.31
    d = cases.DUPLICATE_RADIUS_M / 111_320.0
    plans = {
        "case by number": ("SELECT * FROM cases WHERE number = :n", {"n": numbers[0]}),
        "a resident's cases": (
            "SELECT * FROM cases WHERE reporter_key = :u ORDER BY created_at DESC, id DESC LIMIT 5",
            {"u": users[0]},
        ),
        "duplicate search": (
            "SELECT * FROM cases WHERE category = 'pothole' AND created_at >= now() - interval '7 days'"
            " AND latitude BETWEEN :la0 AND :la1 AND longitude BETWEEN :lo0 AND :lo1"
            " AND status IN ('received','assigned','in_progress','needs_info')",
            {"la0": lat - d, "la1": lat + d, "lo0": lng - d * 1.1, "lo1": lng + d * 1.1},
        ),
    }
    for name, (sql, params) in plans.items():
        print(f"-- EXPLAIN {name}")
        for line in explain(db, sql, params):
            print("   " + line)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="postgresql+psycopg://root@127.0.0.1/bench_cases")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        parser.error("the benchmark is for PostgreSQL")
    ensure_database(args.url)
    db = Database(args.url)
    try:
        reset_schema(db, args.url)
        for n in (int(s) for s in args.sizes.split(",")):
            run(db, n, args.repeat)
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
