"""`citizenbot chat`: the terminal channel, in process and as a real subprocess on a pipe."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.channels.console import parse_coordinates, run_console
from bot.messages import Choice, Text
from handlers import menu


def chat(app, lines: str, user: str = "t1") -> tuple[int, str]:
    out = io.StringIO()
    status = run_console(user, stdin=io.StringIO(lines), stdout=out, app=app)
    return status, out.getvalue()


@pytest.fixture
def recorded(app, monkeypatch):
    """The messages the console hands to the engine (which still answers them)."""
    engine = app.extensions["citizenbot"]["engine"]
    real = engine.handle
    seen = []

    def handle(msg):
        seen.append(msg)
        return real(msg)

    monkeypatch.setattr(engine, "handle", handle)
    return seen


def test_menu_then_a_number_picks_that_service(app, recorded):
    status, out = chat(app, "選單\n1\n")
    assert status == 0
    assert "1. 路面通報" in out and "7. 轉真人" in out
    assert [m.kind for m in recorded] == ["text", "postback"]
    assert recorded[0].text == "選單" and recorded[0].user_key == "console:t1"
    # "1" is the first service button of the menu, sent as its postback.
    assert recorded[1].data == menu.service_choices()[0].data
    assert out.rstrip().endswith("再見！需要協助請撥 1999。")


def test_picking_human_agent_by_number_and_continuing_the_flow(app, recorded):
    number = [label for label, _ in menu.SERVICES].index("轉真人") + 1
    status, out = chat(app, f"選單\n{number}\n家門口路燈不亮\n")
    assert status == 0
    assert "服務人員" in out and "已記下您的說明" in out
    # The transcript shows what was typed (stdin is not a terminal).
    assert f"您> {number}" in out


def test_numbers_outside_the_list_are_text(app, recorded):
    chat(app, "選單\n2026\n")
    assert recorded[-1].kind == "text" and recorded[-1].text == "2026"


def test_coordinates_are_a_location_and_state_is_kept_per_user(app, recorded):
    status, out = chat(app, "22.6273, 120.3014\n")
    assert status == 0
    assert recorded[0].kind == "location"
    assert (recorded[0].location.latitude, recorded[0].location.longitude) == (22.6273, 120.3014)
    assert "收到您的位置" in out
    # The same id continues its conversation in a new session.
    chat(app, "轉真人\n", user="same")
    _, out = chat(app, "我的問題是路燈\n", user="same")
    assert "已記下您的說明" in out


def test_location_and_photo_buttons_ask_for_what_they_need(app, monkeypatch, tmp_path):
    engine = app.extensions["citizenbot"]["engine"]
    seen = []
    ask = Text(
        "請提供位置或照片",
        (
            Choice(label="傳送位置", action="location"),
            Choice(label="拍照", action="camera"),
            Choice(label="撥打 1999", action="uri", uri="tel:1999"),
        ),
    )
    monkeypatch.setattr(engine, "handle", lambda msg: seen.append(msg) or [ask])
    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    lines = f"你好\n1\n22.6,120.3\n1\n高雄市苓雅區四維三路2號\n2\n{photo}\n2\n{tmp_path / 'missing.jpg'}\n3\n"
    status, out = chat(app, lines)
    assert status == 0
    assert [m.kind for m in seen] == ["text", "location", "text", "image"]
    assert seen[2].text == "高雄市苓雅區四維三路2號"
    assert seen[3].image_bytes == photo.read_bytes()
    assert "讀不到這個檔案" in out and "tel:1999" in out
    assert "3. 撥打 1999（tel:1999）" in out


def test_end_of_input_at_once_exits_cleanly(app):
    status, out = chat(app, "")
    assert status == 0
    assert "您好" in out  # the welcome is shown first
    assert "再見" in out


def test_parse_coordinates():
    assert parse_coordinates("22.62,120.31") == (22.62, 120.31)
    assert parse_coordinates(" 22.62 ， 120.31 ") == (22.62, 120.31)
    assert parse_coordinates("-33.9,151.2") == (-33.9, 151.2)
    assert parse_coordinates("95,120") is None
    assert parse_coordinates("22.62,200") is None
    assert parse_coordinates("中正路 100 號") is None
    assert parse_coordinates("2026") is None


def _run_cli(env_db: str, cwd: Path, stdin: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL"))}
    env.update(DATABASE_URL=env_db, SECRET_KEY="console-test", CITIZENBOT_INSTANCE_DIR=str(cwd / "instance"))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", "pipe"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_on_a_fresh_machine_creates_the_database(tmp_path):
    """No database yet: `citizenbot chat` migrates it, then talks; EOF ends with status 0."""
    url = f"sqlite:///{tmp_path / 'fresh' / 'bot.sqlite3'}"
    result = _run_cli(url, tmp_path, "選單\n轉真人\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "請選擇您需要的服務" in result.stdout
    assert "服務人員" in result.stdout
    assert (tmp_path / "fresh" / "bot.sqlite3").exists()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="the SQLite case is the fresh-machine test"
)
def test_cli_on_the_test_database(database_url, tmp_path):
    """The same command on PostgreSQL (already migrated: the upgrade is a no-op)."""
    result = _run_cli(database_url, tmp_path, "轉真人\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "服務人員" in result.stdout


def test_a_notification_reaches_the_terminal_once(app):
    from bot import outbox

    db = app.extensions["citizenbot"]["db"]
    with db.session() as s:
        outbox.notify(s, "console:t9", [Text("您的案件 D2026-000001 已完成處理。")])
    _, out = chat(app, "選單\n選單\n", user="t9")
    assert out.count("D2026-000001 已完成處理") == 1
