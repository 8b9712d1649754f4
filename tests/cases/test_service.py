"""The case service under concurrency, the status flow, notifications, overdue, staff API and CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import cases
from bot.db import Database
from bot.models import Case, CaseHistory, OutboxMessage
from tests.conftest import STAFF_TOKEN

from .conftest import CITY_HALL, make_case


def _parallel(n, fn):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait(10)
            results[i] = fn(i)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors[:3]
    return results


def test_fifty_parallel_reports_get_fifty_distinct_numbers(database_url):
    dbs = [Database(database_url) for _ in range(5)]  # several engines, like workers
    try:
        now = datetime.now(UTC)

        def create(i):
            with dbs[i % 5].session() as s:
                case, code, _ = cases.create_case(
                    s,
                    cases.NewCase(kind="D", source="web", category="pothole", latitude=22.62 + i * 0.01,
                                  longitude=120.31, district="苓雅區", reporter_key=f"web:u{i}"),
                    now,
                )  # fmt: skip
                return case.number

        numbers = _parallel(50, create)
        year = now.astimezone(cases.TAIPEI).year
        assert len(set(numbers)) == 50
        assert sorted(numbers) == [f"D{year}-{i:06d}" for i in range(1, 51)]
        with dbs[0].session() as s:
            assert s.scalar(select(func.count()).select_from(Case)) == 50
    finally:
        for d in dbs:
            d.dispose()


def test_same_pothole_same_second_from_two_residents(database_url):
    dbs = [Database(database_url) for _ in range(2)]
    try:
        now = datetime.now(UTC)

        def report(i):
            with dbs[i].session() as s:
                case, _, dups = cases.create_case(
                    s,
                    cases.NewCase(kind="D", source="line", category="pothole", latitude=CITY_HALL[0],
                                  longitude=CITY_HALL[1], district="苓雅區", reporter_key=f"line:U{i}"),
                    now,
                    check_duplicates=True,
                )  # fmt: skip
                return case.number if case else ("dup", dups[0].number)

        first, second = _parallel(2, report)
        # One is created; the other sees it (the counter lock serializes them) and is offered to follow.
        created = [r for r in (first, second) if isinstance(r, str)]
        offered = [r for r in (first, second) if isinstance(r, tuple)]
        assert len(created) == 1 and offered == [("dup", created[0])]
    finally:
        for d in dbs:
            d.dispose()


def test_status_flow_is_enforced_and_history_is_appended(db):
    number, _ = make_case(db)
    now = datetime.now(UTC)
    with db.session() as s:
        cases.update_case(s, number, now, status="處理中", note="已派員", actor="alice")
    with db.session() as s, pytest.raises(cases.CaseError) as exc:
        cases.update_case(s, number, now, status="received")
    assert exc.value.code == "bad_transition" and "處理中" in exc.value.message
    with db.session() as s:
        cases.update_case(s, number, now, status="done", note="已修補")
        cases.update_case(s, number, now, status="closed")
    with db.session() as s, pytest.raises(cases.CaseError):
        cases.update_case(s, number, now, status="in_progress")
    with db.session() as s:
        case = cases.get_case(s, number)
        assert [(h.from_status, h.to_status) for h in case.history if h.kind == "status"] == [
            (None, "received"), ("received", "assigned"), ("assigned", "in_progress"),
            ("in_progress", "done"), ("done", "closed"),
        ]  # fmt: skip
    with db.session() as s, pytest.raises(cases.CaseError) as exc:
        cases.update_case(s, "D2026-999999", now, status="done")
    assert exc.value.code == "not_found"


def test_status_update_pushes_exactly_one_notification_even_when_the_first_push_fails(line_app, fake_line):
    svc = line_app.extensions["citizenbot"]
    number, _ = make_case(svc["db"], user="line:Ureporter")
    with svc["db"].session() as s:
        cases.follow(s, cases.get_case(s, number), "line:Ufollower", datetime.now(UTC))
    fake_line.fail("push", "500", times=1)
    client = line_app.test_client()
    r = client.post(
        f"/api/staff/cases/{number}",
        json={"status": "in_progress", "note": "已派員前往"},
        headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["case"]["status"] == "in_progress"
    delivery = svc["delivery"]
    later = datetime.now(UTC)
    for _ in range(6):  # the failed row is retried after its backoff
        delivery.deliver_due(later)
        later += timedelta(minutes=10)
    to_reporter = [p for p in fake_line.pushes if p["to"] == "Ureporter"]
    assert len(to_reporter) == 1
    text = to_reporter[0]["messages"][0]["text"]
    assert number in text and "處理中" in text and "已派員前往" in text
    assert len([p for p in fake_line.pushes if p["to"] == "Ufollower"]) == 1
    assert len(fake_line.calls_to("push")) == 3  # one failed, then one each
    with svc["db"].session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_overdue_job_marks_once_without_changing_status(db):
    past = datetime.now(UTC) - timedelta(hours=5)
    number, _ = make_case(db, at=past)
    fresh, _ = make_case(db, latlng=(22.7, 120.3))
    from bot.jobs import load_jobs

    job = load_jobs()["bot.cases.mark_overdue"]
    for _ in range(2):
        with db.session() as s:
            job(s, datetime.now(UTC))
    with db.session() as s:
        case = cases.get_case(s, number)
        assert case.overdue and case.status == "assigned"
        assert [h.kind for h in case.history].count("overdue") == 1
        assert not cases.get_case(s, fresh).overdue


def test_staff_api(client, db):
    number, _ = make_case(db)
    auth = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    assert client.get("/api/staff/cases").status_code == 401
    assert client.get("/api/staff/cases", headers={"Authorization": "Bearer nope"}).status_code == 401
    listed = client.get("/api/staff/cases", headers=auth).get_json()["cases"]
    assert [c["number"] for c in listed] == [number]
    shown = client.get(f"/api/staff/cases/{number}", headers=auth).get_json()["case"]
    assert shown["history"][0]["to_status"] == "received" and shown["reporter_key"] == "line:Uowner"
    r = client.post("/api/staff/cases/D2026-999999", json={"status": "done"}, headers=auth)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.post(f"/api/staff/cases/{number}", json={"status": "received"}, headers=auth)
    assert r.status_code == 409 and "不能改為" in r.get_json()["error"]["message"]
    r = client.post(f"/api/staff/cases/{number}", json={"status": "flying"}, headers=auth)
    assert r.status_code == 400
    r = client.post(f"/api/staff/cases/{number}", data="not json", headers=auth)
    assert r.status_code == 400
    r = client.post(
        f"/api/staff/cases/{number}", json={"agency": "工務局公園處", "note": "改由公園處"}, headers=auth
    )
    assert r.status_code == 200 and r.get_json()["case"]["agency"] == "工務局公園處"
    doc = client.get("/openapi.json").get_json()
    assert "/api/staff/cases/{number}" in doc["paths"] and "/open311/v2/requests.{format}" in doc["paths"]


def test_cli_list_show_update(database_url, db, monkeypatch, capsys):
    from bot.cli import main

    number, _ = make_case(db)
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "x"}
    # The real command once (exit code and stderr of a process) ...
    r = subprocess.run(
        [sys.executable, "-m", "bot.cli", "case", "update", "D2026-999999", "--status", "done"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode != 0 and "查無案件" in r.stderr
    # ... the rest in-process through the same entry point.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "x")

    def cli(*args):
        code = main(["case", *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = cli("list")
    assert code == 0 and number in out and "已分派" in out
    code, _, err = cli("update", number, "--status", "in_progress", "--note", "已派員")
    assert code == 0, err
    code, out, _ = cli("show", number, "--json")
    assert code == 0 and '"status": "in_progress"' in out and "已派員" in out
    code, _, err = cli("update", number, "--status", "received")
    assert code != 0 and "不能改為" in err
    code, _, err = cli("show", "D2026-999999")
    assert code != 0 and "not found" in err
    code, _, err = cli("update", number)
    assert code != 0 and "請指定" in err
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(CaseHistory).where(CaseHistory.actor == "staff-cli"))
            == 1
        )


def test_approximate_points_are_never_called_duplicates(db):
    """Two typed addresses in one district both stand at its centre: they are not one pothole."""
    now = datetime.now(UTC)
    centre = (22.62359, 120.32091)  # 苓雅區's centroid

    def report(user, approximate):
        with db.session() as s:
            case, _, dups = cases.create_case(
                s,
                cases.NewCase(kind="D", source="line", category="pothole", latitude=centre[0], longitude=centre[1],
                              location_approximate=approximate, district="苓雅區", reporter_key=user),
                now,
                check_duplicates=True,
            )  # fmt: skip
            return case, dups

    first, _ = report("line:U1", approximate=True)
    second, dups = report("line:U2", approximate=True)
    assert first is not None and second is not None and dups == []
    exact, dups = report("line:U3", approximate=False)  # an exact point: no exact neighbour yet
    assert exact is not None and dups == []
    again, dups = report("line:U4", approximate=False)
    assert again is None and [c.number for c in dups] == [exact.number]
