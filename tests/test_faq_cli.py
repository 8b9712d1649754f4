"""`citizenbot faq …` and `citizenbot db upgrade` as staff run them, and edits reaching every worker."""

from __future__ import annotations

import json

import pytest

import intents.provider
from bot.cli import main
from bot.db import Database
from bot.messages import Message, Text
from bot.models import FaqEntry
from tests.conftest import shared_path


@pytest.fixture
def env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("CITIZENBOT_INSTANCE_DIR", str(tmp_path / "instance"))
    return database_url


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def entry(database_url, entry_id) -> FaqEntry | None:
    db = Database(database_url)
    try:
        with db.session() as s:
            return s.get(FaqEntry, entry_id)
    finally:
        db.dispose()


def test_add_edit_list_show_remove(env, capsys, tmp_path):
    code, out, err = run(
        capsys,
        "faq",
        "add",
        "--id",
        "faq.parking_fee",
        "--question",
        "路邊停車費怎麼繳？",
        "--answer",
        "可以到超商或用便民一路通繳費。",
        "--example",
        "停車費去哪繳",
        "--example",
        "停车费怎么缴",
        "--url",
        "https://kgo.kcg.gov.tw",
        "--organ",
        "高雄市政府交通局",
        "--by",
        "alice",
    )
    assert (code, out.strip()) == (0, "added faq.parking_fee"), err
    row = entry(env, "faq.parking_fee")
    assert row.source == "staff" and row.updated_by == "alice"
    assert row.examples == ["停車費去哪繳", "停车费怎么缴"]

    long_answer = "第一段說明。\n" + "細節。" * 900
    answer_file = tmp_path / "answer.txt"
    answer_file.write_text(long_answer, encoding="utf-8")
    code, out, _ = run(
        capsys,
        "faq",
        "edit",
        "faq.parking_fee",
        "--answer-file",
        str(answer_file),
        "--add-example",
        "停車單怎麼付",
        "--by",
        "bob",
    )
    assert code == 0 and "answer" in out and "examples" in out
    row = entry(env, "faq.parking_fee")
    assert row.answer == long_answer.strip() and row.updated_by == "bob"
    assert row.examples[-1] == "停車單怎麼付"

    code, out, _ = run(capsys, "faq", "list", "--source", "staff")
    assert code == 0 and out.startswith("faq.parking_fee\tstaff\t路邊停車費怎麼繳？")
    code, out, _ = run(capsys, "faq", "list", "--search", "停车", "--json")
    listed = json.loads(out)
    assert [e["id"] for e in listed] == ["faq.parking_fee"] and listed[0]["organ"] == "高雄市政府交通局"
    code, out, _ = run(capsys, "faq", "show", "faq.parking_fee")
    assert code == 0 and "question:   路邊停車費怎麼繳？" in out and "  - 停車單怎麼付" in out

    code, out, _ = run(capsys, "faq", "remove", "faq.parking_fee")
    assert (code, out.strip()) == (0, "removed faq.parking_fee")
    assert entry(env, "faq.parking_fee").active is False
    _, out, _ = run(capsys, "faq", "list")
    assert "faq.parking_fee" not in out
    _, out, _ = run(capsys, "faq", "list", "--all")
    assert "faq.parking_fee\tstaff (removed)" in out
    code, out, _ = run(capsys, "faq", "edit", "faq.parking_fee", "--activate", "--by", "bob")
    assert code == 0 and entry(env, "faq.parking_fee").active is True


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["faq", "add", "--id", "faq.Bad", "--question", "q", "--answer", "a"], 2, "invalid id 'faq.Bad'"),
        (["faq", "add", "--id", "hotline", "--question", "q", "--answer", "a"], 2, "start with 'faq.'"),
        (["faq", "add", "--question", "q", "--answer", " "], 2, "answer must not be empty"),
        (
            ["faq", "add", "--question", "q", "--answer-file", "/nonexistent/a.txt"],
            2,
            "cannot read --answer-file",
        ),
        (["faq", "add", "--question", "q", "--answer", "a", "--by", "import"], 2, "reserved"),
        (["faq", "edit", "faq.nothing_here", "--answer", "a"], 1, "no FAQ entry 'faq.nothing_here'"),
        (["faq", "edit", "faq.hotline_1999"], 2, "nothing to change"),
        (["faq", "show", "hotline_1999"], 2, "did you mean faq.hotline_1999"),
        (["faq", "remove", "faq.nothing_here"], 1, "no FAQ entry"),
    ],
)
def test_staff_errors_are_clear_with_nonzero_exit(env, capsys, argv, code, message):
    got, _, err = run(capsys, *argv)
    assert got == code
    assert message in err


def test_adding_an_existing_id_fails_and_changes_nothing(env, capsys):
    assert run(capsys, "faq", "add", "--id", "faq.x", "--question", "原本", "--answer", "原本")[0] == 0
    code, _, err = run(capsys, "faq", "add", "--id", "faq.x", "--question", "新的", "--answer", "新的")
    assert code == 1 and "already exists" in err and "faq edit faq.x" in err
    assert entry(env, "faq.x").answer == "原本"


def test_import_command(env, capsys, tmp_path):
    path = shared_path("data", "kcg_faq.json")
    code, out, _ = run(capsys, "faq", "import", str(path))
    assert code == 0
    assert out.startswith("1424 entries read, 1424 inserted, 0 updated, 0 unchanged, 0 skipped in ")
    code, out, _ = run(capsys, "faq", "import", str(path))
    assert code == 0 and "0 inserted, 0 updated, 1424 unchanged" in out

    items = json.loads(path.read_text(encoding="utf-8"))[:3]
    items[1]["answer"] = "新的答案"
    items.append({"organ_no": "X1", "seq": "1", "organ": "某局", "question": "", "answer": "a", "url": None})
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(capsys, "faq", "import", str(partial))
    assert code == 1  # loaded, but someone should look at the skipped entry
    assert "1 updated, 2 unchanged, 1 skipped" in out
    assert "skipped: entry #4 (faq.X1.1): question must not be empty" in err


def test_import_of_an_unusable_file_exits_2_and_writes_nothing(env, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"organ_no": "1", "seq": "1"}', encoding="utf-8")
    code, out, err = run(capsys, "faq", "import", str(bad))
    assert code == 2 and "expected a JSON array" in err and out == ""
    code, _, err = run(capsys, "faq", "import", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err
    _, out, _ = run(capsys, "faq", "list", "--all", "--json")
    assert json.loads(out) == []


def test_commands_on_an_unmigrated_database_say_what_to_do(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "k")
    for argv in (["faq", "list"], ["faq", "add", "--question", "q", "--answer", "a"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and "run `citizenbot db upgrade` first" in err
    path = tmp_path / "city.json"
    path.write_text("[]", encoding="utf-8")
    code, _, err = run(capsys, "faq", "import", str(path))
    assert code == 2 and "citizenbot db upgrade" in err


def test_db_upgrade_seeds_the_builtin_entries_once(env, capsys):
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "(17 new built-in FAQ entries)" in out
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "(0 new built-in FAQ entries)" in out
    assert entry(env, "faq.hotline_1999").source == "builtin"


def ask(app, text):
    engine = app.extensions["citizenbot"]["engine"]
    replies = engine.handle(Message("web:w", "web", "text", text=text))
    return "\n".join(r.text for r in replies if isinstance(r, Text))


def test_an_edit_reaches_every_worker_without_restart(make_app, env, capsys, provider_clock):
    clock = provider_clock
    assert run(capsys, "db", "upgrade")[0] == 0
    workers = [make_app(), make_app()]  # two gunicorn workers on one database
    for app in workers:
        assert "08:00–17:30" in ask(app, "哪裡可以量血壓")

    code, _, _ = run(
        capsys,
        "faq",
        "edit",
        "faq.health_service",
        "--answer",
        "保健服務暫停，恢復日期另行公告。",
        "--by",
        "alice",
    )
    assert code == 0
    # Within the check interval a worker keeps the matcher it has (one cheap query a second at most)…
    assert "08:00–17:30" in ask(workers[0], "哪裡可以量血壓")
    # …and once it passes, every worker rebuilds in the background and then answers with the
    # new text, no restart. The message that noticed the edit does not wait for the rebuild.
    clock.now += intents.provider.CHECK_INTERVAL + 0.1
    for app in workers:
        assert "08:00–17:30" in ask(app, "哪裡可以量血壓")
        assert app.extensions["citizenbot"]["matchers"].wait()
        assert "保健服務暫停" in ask(app, "哪裡可以量血壓")

    assert run(capsys, "faq", "remove", "faq.health_service")[0] == 0
    clock.now += intents.provider.CHECK_INTERVAL + 0.1
    for app in workers:
        ask(app, "哪裡可以量血壓")
        assert app.extensions["citizenbot"]["matchers"].wait()
        assert "保健服務暫停" not in ask(app, "哪裡可以量血壓")
